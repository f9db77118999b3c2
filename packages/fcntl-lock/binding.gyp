{
  "targets": [
    {
      "target_name": "fcntl_lock",
      "sources": ["src/addon.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "conditions": [["OS != 'linux'", { "type": "none" }]]
    }
  ]
}
