// std.base64 of bytes and Latin-1 text, std.split* with go-jsonnet's checks.
[std.base64([104, 105, 33, 0, 255]), std.base64('é'), std.base64(''), std.splitLimitR('a,b,c', ',', 1),
 std.splitLimit('a,b,c', ',', -1), std.split('a,,b', ',')]
