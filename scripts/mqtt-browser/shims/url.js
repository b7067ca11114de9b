// Written for wd-video (not part of mqtt.js). mqtt.js's connect() splits the broker URL with Node's
// legacy `url.parse(url, true)`, once; the browser's WHATWG URL gives the same parts, so the Node
// `url` polyfill (and the punycode and querystring it carries) is not needed. A relative URL such
// as `/mqtt` has no protocol and no host, as with url.parse; mqtt.js then uses the page's.
// One difference: an IPv6 host keeps its brackets (`[::1]`), which mqtt.js's ws:// URL needs.
export function parse(input) {
  let url;
  let relative = false;
  try {
    url = new URL(input);
  } catch {
    url = new URL(input, 'http://relative.invalid');
    relative = true;
  }
  const auth = url.username || url.password ? decodeURIComponent(url.username) + (url.password ? `:${decodeURIComponent(url.password)}` : '') : null;
  return {
    protocol: relative ? null : url.protocol,
    auth: relative ? null : auth,
    hostname: relative || url.hostname === '' ? null : url.hostname,
    port: relative || url.port === '' ? null : url.port,
    path: url.pathname + url.search,
    query: Object.fromEntries(url.searchParams),
  };
}

export default { parse };
