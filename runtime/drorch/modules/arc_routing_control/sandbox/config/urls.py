from drorch.modules.arc_routing_control.sandbox.config.responses import ControlConfigResponse

url_bases = [r"https?://route53-recovery-control-config\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/(?P<kind>cluster|controlpanel|controlpanels|routingcontrol|safetyrule)$": (
        ControlConfigResponse.dispatch
    ),
    "{0}/(?P<kind>cluster|controlpanel|routingcontrol|safetyrule|tags)/(?P<arn>.+)$": (
        ControlConfigResponse.dispatch
    ),
}
