from drorch.sandbox.resourceexplorer.responses import ResourceExplorerResponse

url_bases = [r"https?://resource-explorer-2\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/(?P<operation>[A-Za-z]+)$": ResourceExplorerResponse.dispatch,
    "{0}/tags/(?P<resourceArn>.+)$": ResourceExplorerResponse.dispatch,
}
