/** Product version; test/unit/version.test.ts keeps it equal to package.json. */
export const PRODUCT_VERSION = '0.1.0';
/** Version of the Gateway Network protocol spoken by this build. */
export const PROTOCOL_VERSION = 1;
