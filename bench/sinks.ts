/**
 * The calibration's sinks, as results, the table and the chart name them: loopback TCP into a
 * sink process (`sink_server.ts`), and a UDP blackhole in a private network namespace
 * (`blackhole_netns.ts`).
 *
 * @module
 */
export const SINKS = ["tcp", "udp"] as const;
export type SinkName = typeof SINKS[number];
export const SINK_TITLES: Record<SinkName, string> = {
  tcp: "loopback TCP",
  udp: "UDP blackhole",
};
