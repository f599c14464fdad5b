{
  # Built by `npm install` through native-bindings/scripts/install.js (see README.md). Outputs, all in build/Release:
  #   openctl_native.node         the N-API signing core (src/)
  #   libopenctl-testp11.so       the test-only PKCS#11 module (testp11/)
  #   openctl_files.node          batch signing's per-file work (src/files.c; OpenSSL from node itself)
  #   csign                       the benchmark's standalone C_Sign loop (bench/)
  "target_defaults": {
    "include_dirs": ["include", "common"],
    "cflags_c": ["-std=gnu11", "-O2", "-fvisibility=hidden"],
    "conditions": [
      ["OS != 'win'", { "libraries": ["-ldl", "-lpthread"] }]
    ]
  },
  "targets": [
    {
      "target_name": "openctl_native",
      "sources": ["src/addon.c", "src/pool.c", "common/ck_lookup.c", "common/ck_names.c"]
    },
    {
      "target_name": "openctl_files",
      "sources": ["src/files.c", "src/walk.c", "src/pool.c", "common/ck_lookup.c", "common/ck_names.c"],
      # OpenSSL comes from the node binary that loads the addon: bind every symbol at load time, so that a
      # runtime without OpenSSL 3 (Electron's BoringSSL) refuses the addon at require() instead of at a call.
      "conditions": [["OS == 'linux'", { "ldflags": ["-Wl,-z,now"] }]]
    },
    {
      "target_name": "openctl-testp11",
      "type": "shared_library",
      "product_prefix": "lib",
      "product_name": "openctl-testp11",
      "product_dir": "<(PRODUCT_DIR)",
      "sources": ["testp11/testp11.c", "common/ck_lookup.c", "common/ck_names.c"]
    },
    {
      "target_name": "csign",
      "type": "executable",
      "sources": ["bench/csign.c"]
    }
  ]
}
