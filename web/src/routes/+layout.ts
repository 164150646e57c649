// A pure single-page app: the Node server serves build/index.html for every
// non-API path and the client router takes it from there.
export const ssr = false;
export const prerender = false;
