{
  "targets": [{
    "target_name": "x2native",
    "sources": ["src/addon.cc", "src/crc32c.cc", "src/net.cc", "src/mmsg.cc", "src/verbs.cc"],
    "libraries": ["-ldl"],
    "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
    "defines": ["NAPI_VERSION=9", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
    "cflags_cc": ["-std=c++17", "-O2", "-fno-exceptions"],
    "cflags_cc!": ["-fno-rtti"]
  }]
}
