// Typed Kubernetes object models (types only: erased at run time, so the
// CommonJS program does not load the ESM package). Tests validate rendered
// objects against the package's OpenAPI schemas.
export type { IPod as Pod } from "kubernetes-models/v1/Pod";
export type { IContainer as Container } from "kubernetes-models/v1/Container";
export type { IVolume as Volume } from "kubernetes-models/v1/Volume";
export type { IVolumeMount as VolumeMount } from "kubernetes-models/v1/VolumeMount";
export type { IConfigMap as ConfigMap } from "kubernetes-models/v1/ConfigMap";
export type { IServiceAccount as ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
export type { IService as Service } from "kubernetes-models/v1/Service";
export type { IDaemonSet as DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
export type { IDeployment as Deployment } from "kubernetes-models/apps/v1/Deployment";
export type { IClusterRole as ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
export type { IClusterRoleBinding as ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
export type { IRole as Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
export type { IRoleBinding as RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
export type { IAPIService as APIService } from "kubernetes-models/apiregistration.k8s.io/v1/APIService";
