#ifndef OPENCTL_WALK_H
#define OPENCTL_WALK_H
#include <node_api.h>

/* Adds walkOpen, walkNext, walkClaim, walkClose and countFiles (walk.c) to the addon's exports; 0 on success. */
int walk_define(napi_env env, napi_value exports);

#endif
