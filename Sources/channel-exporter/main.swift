import ArgumentParser
import ChannelExporter
print("channel-exporter: not yet wired")
