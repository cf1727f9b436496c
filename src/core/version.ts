/** Product version; test/unit/version.test.ts keeps it equal to package.json. */
export const PRODUCT_VERSION = '0.1.0';
/**
 * Version of the Gateway Network protocol spoken by this build. 2: the goodbye carries `active`, the
 * state report `failoverTimeout` and `activatedEpoch`, a stand-down may be refused as `paused`
 * (rules 10-12); a peer of version 1 would close the link on them, so it is refused at the hello.
 */
export const PROTOCOL_VERSION = 2;
