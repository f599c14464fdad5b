#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_names.h"

const char *ck_name_of(const ck_name_t *table, CK_ULONG value) {
    for (const ck_name_t *e = table; e->name; e++)
        if (e->value == value) return e->name;
    return NULL;
}

int ck_parse(const ck_name_t *table, const char *text, CK_ULONG *value) {
    for (const ck_name_t *e = table; e->name; e++) {
        if (strcmp(e->name, text) == 0) {
            *value = e->value;
            return 0;
        }
    }
    if (*text == '\0') return -1;
    char *end = NULL;
    unsigned long long n = strtoull(text, &end, 0);
    if (end == NULL || *end != '\0') return -1;
    *value = (CK_ULONG)n;
    return 0;
}

const char *ckr_name(CK_RV rv, char *buf, size_t size) {
    const char *name = ck_name_of(ckr_names, rv);
    if (name) return name;
    snprintf(buf, size, "CKR_0x%08lX", (unsigned long)rv);
    return buf;
}
