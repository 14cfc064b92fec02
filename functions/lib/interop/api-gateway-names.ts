/** Tag that marks the REST APIs, keys and usage plans Launchway manages, with the service as its value. */
export const SERVICE_TAG = 'launchway:service';
/** Name suffix of the key Launchway itself calls the gateway with when validating production. */
export const VALIDATION_KEY_SUFFIX = 'validation';

/** Names of everything Launchway creates for one service. */
export const apiNameFor = (service: string) => `launchway-${service}`;
export const usagePlanNameFor = (service: string) => `launchway-${service}`;
export const apiKeyNameFor = (service: string, name: string) => `launchway-${service}-${name}`;
