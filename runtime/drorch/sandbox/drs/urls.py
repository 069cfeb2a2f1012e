from drorch.sandbox.drs.responses import DrsResponse

url_bases = [r"https?://drs\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/(?P<operation>[A-Za-z]+)$": DrsResponse.dispatch,
    "{0}/tags/(?P<resourceArn>.+)$": DrsResponse.dispatch,
}
