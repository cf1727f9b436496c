/** Product version; test/unit/version.test.ts keeps it equal to package.json. */
export const PRODUCT_VERSION = '0.1.0';
/**
 * Version of the Gateway Network protocol spoken by this build; a peer of any other version is
 * refused at the hello (GW_ERR_GAN_INCOMPATIBLE_PROTOCOL), so both nodes of a pair run the same gwd
 * version. 2: the goodbye carries `active`, the state report `failoverTimeout` and
 * `activatedEpoch`, a stand-down may be refused as `paused` (rules 10-12). 3: a full snapshot has
 * one wire form (streamed manifest parts, bytes in binary frames) and the hello no `features`. 4: the
 * backup reports what it has taken of a snapshot (sync.snapshotReceived) and the master sends only
 * a window beyond it.
 */
export const PROTOCOL_VERSION = 4;
