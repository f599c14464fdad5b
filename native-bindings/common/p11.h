/* The standard PKCS#11 headers with the platform conventions they ask the includer to set. */
#ifndef OPENCTL_P11_H
#define OPENCTL_P11_H

#ifdef _WIN32
#pragma pack(push, cryptoki, 1)
#endif

#include "pkcs11/pkcs11.h"

#ifdef _WIN32
#pragma pack(pop, cryptoki)
#endif

#endif
