{
  "targets": [
    {
      "target_name": "btrfs_ioctl",
      "sources": ["src/addon.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "conditions": [["OS != 'linux'", { "type": "none" }]]
    }
  ]
}
