# The batched UDP addon (udp_batch.c, Linux only), built by scripts/build-native.mjs.
# udp_batch_measure=1 (node-gyp rebuild --udp_batch_measure=1) adds the measurement-only modes that
# bench/udp-ceiling.sh compares; it builds that variant in its own directory, never into this one.
{
  "variables": {
    "udp_batch_measure%": 0
  },
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["udp_batch.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }],
        ["udp_batch_measure==1", { "defines": ["UDP_BATCH_MEASURE"] }]
      ]
    }
  ]
}
