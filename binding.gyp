{
  "targets": [
    {
      "target_name": "chimney_tap",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/tap.c", "native/tap_linux.c", "native/poll.c"],
          "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
          "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-O2"],
          "cflags!": ["-fno-exceptions"]
        }]
      ]
    }
  ]
}
