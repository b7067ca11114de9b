/** Served by the web-test-runner config at /__wd-test-env.js: the test brokers' URLs. */
export declare const brokerURL: string;
/** A broker that takes only tokens (from /__wd-test-token?sub=&ttl=) and the passwords below. */
export declare const authBrokerURL: string;
/** uid → password in that broker's password file. */
export declare const passwords: Record<string, string>;
