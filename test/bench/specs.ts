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
