local helper = import "helper.libsonnet";
{
  greet(name):: "hello " + name + helper.suffix,
  file:: std.thisFile,
}
