/** Served by the web-test-runner config at /__wd-test-env.js: the test broker's URL. */
export declare const brokerURL: string;
