// The wire protocol of wd-video, shared by the browser core and the server: topic layout, id and
// path rules, message shapes and their validation, the services' requests and replies, error
// codes, the protocol version, and the topic ACL derived from them. No DOM, no Node.
export * from './acl.js';
export * from './errors.js';
export * from './ids.js';
export * from './messages.js';
export * from './rate.js';
export * from './services.js';
export * from './topics.js';
