/**
 * chimney's public API: the host stack and its sockets, the offload target, the link layer,
 * the ndis contract and the wire codecs, for programs that embed the emulator.
 */
export { HostStack } from './host/stack.js';
export type { HostStackOptions, HostInterfaceConfig } from './host/config.js';
export { TcpSocket, type TcpSocketOptions, type AddressInfo } from './host/socket.js';
export { stableBuffer } from './tcp/stable-bytes.js';
export { TcpServer, type TcpServerOptions } from './host/server.js';
export { OffloadTarget } from './target/target.js';
export { bindProtocol, NdisBinding } from './ndis/binding.js';
export { ImDriver, ImSpecError, parseImSpec, type ImDriverKind, type ImDriverStats, type ImFaultSpec } from './im/im-driver.js';
export { bindThroughDrivers, driversFromSpecs, type ImDriverInfo } from './im/stack.js';
export * as ndisStatus from './ndis/status.js';
export type { Link, LinkCapabilities, LinkReceiver, LinkStats } from './link/link.js';
export { TapLink } from './link/tap-link.js';
export { SimLink } from './link/sim-link.js';
export { PcapLink, PcapngWriter } from './link/pcapng.js';
export { ImpairLink, parseImpairSpec } from './link/impair.js';
export { TcpConnection } from './tcp/connection.js';
export { DEFAULT_TCP_CONFIG, type TcpConfig, type TcpInfo, type TcpState } from './tcp/types.js';
export { RealScheduler, SimScheduler, type Clock, type Scheduler } from './wire/clock.js';
export { SeededRandom, type Random } from './wire/random.js';
