/**
 * The Link contract suite (test/contract/link-contract.ts) against TapLink on real TAPs: two
 * TAPs whose kernel sides are ports of one Linux bridge in a namespace this test creates, so a
 * frame sent on one TapLink is flooded by the bridge (the contract's frames are broadcast) and
 * read by the other. Run plain and with the virtio-net header.
 */
import { describeLinkContract, type LinkPair } from '../contract/link-contract.js';
import { TapLink } from '../../src/link/tap-link.js';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack, createNetns, ip, removeStaleLink, run } from '../helpers/tap-netns.js';

const NS = 'chn-ct';
const TAP_A = 'chntapC1';
const TAP_B = 'chntapC2';
const BRIDGE = 'chnbrC';

function bridgedPair(vnet: boolean): () => Promise<LinkPair> {
  return async () => {
    const cleanup = new CleanupStack();
    try {
      removeStaleLink(TAP_A);
      removeStaleLink(TAP_B);
      const a = TapLink.open({ name: TAP_A, vnet });
      cleanup.defer(() => a.close());
      const b = TapLink.open({ name: TAP_B, vnet });
      cleanup.defer(() => b.close());
      createNetns(NS, cleanup);
      // No IPv6 in the namespace: fewer foreign frames (router solicitations, MLD) on the ports.
      for (const key of ['all', 'default']) run('ip', ['netns', 'exec', NS, 'sysctl', '-qw', `net.ipv6.conf.${key}.disable_ipv6=1`]);
      ip('link', 'set', TAP_A, 'netns', NS);
      ip('link', 'set', TAP_B, 'netns', NS);
      ip('-n', NS, 'link', 'add', BRIDGE, 'type', 'bridge', 'stp_state', '0');
      for (const dev of [TAP_A, TAP_B]) ip('-n', NS, 'link', 'set', dev, 'master', BRIDGE, 'up');
      ip('-n', NS, 'link', 'set', BRIDGE, 'up');
      return {
        a,
        b,
        drive: () => new Promise<void>((resolve) => setTimeout(resolve, 5)),
        cleanup: () => cleanup.run(),
      };
    } catch (e) {
      await cleanup.run();
      throw e;
    }
  };
}

describePrivileged('TapLink contract (root: two TAPs on a Linux bridge)', () => {
  describeLinkContract('TapLink, plain frames', bridgedPair(false));
  describeLinkContract('TapLink, virtio-net header with offloads', bridgedPair(true));
});
