export { DEFAULT_RFM } from '../../collector/engine/config.ts';
export { NO_PURCHASES as NO_PURCHASES_FOR_TEST } from '../../collector/engine/profile.ts';
