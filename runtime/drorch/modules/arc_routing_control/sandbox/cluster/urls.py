from drorch.modules.arc_routing_control.sandbox.cluster.responses import ClusterResponse

# a cluster's endpoints (<id>.route53-recovery-cluster.<region>...) and the service's own name
url_bases = [r"https?://(?:[a-z0-9]+\.)?route53-recovery-cluster\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/v1/?$": ClusterResponse.dispatch,
    "{0}/?$": ClusterResponse.dispatch,
}
