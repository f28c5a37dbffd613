import { signLocalPrincipal } from '../../src/functions/lib/principal';

/** Fixed and local: the tests' host checks principals signed with this key, where App Service would inject them. */
export const LOCAL_PRINCIPAL_KEY = 'local-principal-key-for-tests-only-0001';
export const AUTOMATION_KEY = 'automation-key-for-tests-only-00000001';
/** Host settings for principals: VMBACKUP_AUTH_MODE=local, its signing key and the automation key. */
export const LOCAL_AUTH = { VMBACKUP_AUTH_MODE: 'local', VMBACKUP_LOCAL_PRINCIPAL_KEY: LOCAL_PRINCIPAL_KEY, VMBACKUP_AUTOMATION_KEY: AUTOMATION_KEY };

/** The headers App Service would add for a user with these app roles, signed for the local host. */
export const principal = (name: string, roles: string[]): Record<string, string> => signLocalPrincipal({ name, roles }, LOCAL_PRINCIPAL_KEY);
