/** PKCS#11 values that pkcs11js exports at run time but leaves out of its type definitions. */

/** CK_SLOT_INFO flags. */
export const CKF_TOKEN_PRESENT = 0x1;
export const CKF_REMOVABLE_DEVICE = 0x2;
export const CKF_HW_SLOT = 0x4;

/** CK_STATE values of C_GetSessionInfo. */
export const CKS_RO_USER_FUNCTIONS = 1;
export const CKS_RW_USER_FUNCTIONS = 3;
