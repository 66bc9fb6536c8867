// The benchmark clusters: 3 external etcd + 3 control plane + N workers on aws.
export function benchSpec(workers: number): Record<string, unknown> {
  return {
    name: `bench${workers}`,
    kubernetes: { podCIDR: "10.128.0.0/12", nodeCIDRMaskSize: 24 },
    workers: { pools: [{ name: "general", count: workers }] },
    infrastructure: {
      provider: "aws",
      aws: { region: "eu-west-1", sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKeyOnly bench@drydock" },
    },
  };
}

export const SIZES = [10, 100, 1000] as const;

/** 3 stacked control planes behind a VIP and N workers on existing hosts: what the real engine previews. */
export function hostsBenchSpec(workers: number): Record<string, unknown> {
  const host = (i: number) => `10.${100 + Math.floor(i / 250)}.${i % 250}.10`;
  return {
    name: `hostsbench${workers}`,
    kubernetes: { podCIDR: "10.128.0.0/12", serviceCIDR: "172.20.0.0/16", nodeCIDRMaskSize: 24 },
    infrastructure: {
      provider: "hosts",
      hosts: [
        ...[1, 2, 3].map((i) => ({ name: `cp-${i}`, address: `10.99.0.${10 + i}`, roles: ["controlPlane", "etcd"] })),
        ...Array.from({ length: workers }, (_, i) => ({ name: `w-${i + 1}`, address: host(i), roles: ["worker"] })),
      ],
      apiEndpoint: { vip: "10.99.0.100" },
    },
  };
}
