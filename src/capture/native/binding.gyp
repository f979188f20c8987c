{
  # rtpprobe's own capture addon: Node-API (C) over libpcap. Built by `npm run build:native`.
  "targets": [
    {
      "target_name": "rtpprobe_pcap",
      "sources": ["rtpprobe_pcap.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpcap"]
    }
  ]
}
