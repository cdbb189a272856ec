/**
 * The protobuf schema of the Kubernetes types podvisor decodes, as data: for every message,
 * its fields with their number, JSON name, Go type and JSON options. One field is written
 *
 *     '<number> <name> <type> [<options>]'
 *
 * - `<name>`: the field's JSON name, which is also its name in upstream's generated.proto;
 * - `<type>`: the Go type of the field, written with Go's notation: `string`, `bool`, `int32`,
 *   `int64`, `bytes` (Go's `[]byte`, base64 in JSON), or a message named as in this table
 *   (core/v1 types bare, others with a package prefix: `meta.ObjectMeta`), optionally as a
 *   pointer `*T` (absent on the wire is nil), a slice `[]T` or a map `map[string]T`;
 * - `<options>`: the Go JSON tag options that decide what the JSON encoding leaves out
 *   (`omitempty`, `omitzero`), and `inline` for an embedded struct whose fields the JSON
 *   encoding flattens into the parent (`Volume.volumeSource`, `Probe.handler`).
 *
 * Derived (not hand-written) from upstream's types.go, whose struct tags give the JSON name,
 * options and Go type of every field, cross-checked field by field against generated.proto
 * (number, name, repeated or map, element type): kubernetes/api at
 * 10b39a39bcee995dfe7cd5e8e7b922be5e46f1e2 and kubernetes/apimachinery at
 * eed236ceee2c19c2753a3d93ac0631dc20750454 (both 1.37 development, July 2026), for the types
 * reachable from the kinds in `schema.ts`. Field numbers never change upstream, so a newer
 * table only adds fields; an older client simply never sends them. The messages whose JSON is
 * not the plain mapping of their fields (Time, Quantity, IntOrString, FieldsV1, ExtraValue) are
 * in `schema.ts`.
 */

/** Message name to its fields, in the Go struct's order (the order of the JSON encoding). */
export const MESSAGES: Readonly<Record<string, readonly string[]>> = {
  // meta.k8s.io/v1 (k8s.io/apimachinery/pkg/apis/meta/v1)
  'meta.DeleteOptions': [
    '1 gracePeriodSeconds *int64 omitempty', '2 preconditions *meta.Preconditions omitempty', '3 orphanDependents *bool omitempty',
    '4 propagationPolicy *string omitempty', '5 dryRun []string omitempty', '6 ignoreStoreReadErrorWithClusterBreakingPotential *bool omitempty',
  ],
  'meta.FieldSelectorRequirement': ['1 key string', '2 operator string', '3 values []string omitempty'],
  'meta.LabelSelector': ['1 matchLabels map[string]string omitempty', '2 matchExpressions []meta.LabelSelectorRequirement omitempty'],
  'meta.LabelSelectorRequirement': ['1 key string', '2 operator string', '3 values []string omitempty'],
  'meta.ManagedFieldsEntry': [
    '1 manager string omitempty', '2 operation string omitempty', '3 apiVersion string omitempty', '4 time *meta.Time omitempty',
    '6 fieldsType string omitempty', '7 fieldsV1 *meta.FieldsV1 omitempty', '8 subresource string omitempty',
  ],
  'meta.ObjectMeta': [
    '1 name string omitempty', '2 generateName string omitempty', '3 namespace string omitempty', '4 selfLink string omitempty', '5 uid string omitempty',
    '6 resourceVersion string omitempty', '7 generation int64 omitempty', '8 creationTimestamp meta.Time omitempty,omitzero',
    '9 deletionTimestamp *meta.Time omitempty', '10 deletionGracePeriodSeconds *int64 omitempty', '11 labels map[string]string omitempty',
    '12 annotations map[string]string omitempty', '13 ownerReferences []meta.OwnerReference omitempty', '14 finalizers []string omitempty',
    '17 managedFields []meta.ManagedFieldsEntry omitempty',
  ],
  'meta.OwnerReference': [
    '5 apiVersion string', '1 kind string', '3 name string', '4 uid string', '6 controller *bool omitempty', '7 blockOwnerDeletion *bool omitempty',
  ],
  'meta.Preconditions': ['1 uid *string omitempty', '2 resourceVersion *string omitempty'],
  // core/v1 (k8s.io/api/core/v1)
  AWSElasticBlockStoreVolumeSource: ['1 volumeID string', '2 fsType string omitempty', '3 partition int32 omitempty', '4 readOnly bool omitempty'],
  Affinity: ['1 nodeAffinity *NodeAffinity omitempty', '2 podAffinity *PodAffinity omitempty', '3 podAntiAffinity *PodAntiAffinity omitempty'],
  AppArmorProfile: ['1 type string', '2 localhostProfile *string omitempty'],
  AzureDiskVolumeSource: [
    '1 diskName string', '2 diskURI string', '3 cachingMode *string omitempty', '4 fsType *string omitempty', '5 readOnly *bool omitempty',
    '6 kind *string omitempty',
  ],
  AzureFileVolumeSource: ['1 secretName string', '2 shareName string', '3 readOnly bool omitempty'],
  CSIVolumeSource: [
    '1 driver string', '2 readOnly *bool omitempty', '3 fsType *string omitempty', '4 volumeAttributes map[string]string omitempty',
    '5 nodePublishSecretRef *LocalObjectReference omitempty',
  ],
  Capabilities: ['1 add []string omitempty', '2 drop []string omitempty'],
  CephFSVolumeSource: [
    '1 monitors []string', '2 path string omitempty', '3 user string omitempty', '4 secretFile string omitempty',
    '5 secretRef *LocalObjectReference omitempty', '6 readOnly bool omitempty',
  ],
  CinderVolumeSource: ['1 volumeID string', '2 fsType string omitempty', '3 readOnly bool omitempty', '4 secretRef *LocalObjectReference omitempty'],
  ClusterTrustBundleProjection: [
    '1 name *string omitempty', '2 signerName *string omitempty', '3 labelSelector *meta.LabelSelector omitempty', '5 optional *bool omitempty',
    '4 path string', '6 user *int64 omitempty',
  ],
  ConfigMap: [
    '1 metadata meta.ObjectMeta omitempty', '4 immutable *bool omitempty', '2 data map[string]string omitempty', '3 binaryData map[string]bytes omitempty',
  ],
  ConfigMapEnvSource: ['1 localObjectReference LocalObjectReference inline', '2 optional *bool omitempty'],
  ConfigMapKeySelector: ['1 localObjectReference LocalObjectReference inline', '2 key string', '3 optional *bool omitempty'],
  ConfigMapProjection: ['1 localObjectReference LocalObjectReference inline', '2 items []KeyToPath omitempty', '4 optional *bool omitempty'],
  ConfigMapVolumeSource: [
    '1 localObjectReference LocalObjectReference inline', '2 items []KeyToPath omitempty', '3 defaultMode *int32 omitempty', '4 optional *bool omitempty',
    '5 defaultUser *int64 omitempty',
  ],
  Container: [
    '1 name string', '2 image string omitempty', '3 command []string omitempty', '4 args []string omitempty', '5 workingDir string omitempty',
    '6 ports []ContainerPort omitempty', '19 envFrom []EnvFromSource omitempty', '7 env []EnvVar omitempty', '8 resources ResourceRequirements omitempty',
    '23 resizePolicy []ContainerResizePolicy omitempty', '24 restartPolicy *string omitempty', '25 restartPolicyRules []ContainerRestartRule omitempty',
    '9 volumeMounts []VolumeMount omitempty', '21 volumeDevices []VolumeDevice omitempty', '10 livenessProbe *Probe omitempty',
    '11 readinessProbe *Probe omitempty', '22 startupProbe *Probe omitempty', '12 lifecycle *Lifecycle omitempty',
    '13 terminationMessagePath string omitempty', '20 terminationMessagePolicy string omitempty', '14 imagePullPolicy string omitempty',
    '15 securityContext *SecurityContext omitempty', '16 stdin bool omitempty', '17 stdinOnce bool omitempty', '18 tty bool omitempty',
  ],
  ContainerExtendedResourceRequest: ['1 containerName string', '2 resourceName string', '3 requestName string'],
  ContainerPort: ['1 name string omitempty', '2 hostPort int32 omitempty', '3 containerPort int32', '4 protocol string omitempty', '5 hostIP string omitempty'],
  ContainerResizePolicy: ['1 resourceName string', '2 restartPolicy string'],
  ContainerRestartRule: ['1 action string omitempty', '2 exitCodes *ContainerRestartRuleOnExitCodes omitempty'],
  ContainerRestartRuleOnExitCodes: ['1 operator string omitempty', '2 values []int32 omitempty'],
  ContainerState: [
    '1 waiting *ContainerStateWaiting omitempty', '2 running *ContainerStateRunning omitempty', '3 terminated *ContainerStateTerminated omitempty',
  ],
  ContainerStateRunning: ['1 startedAt meta.Time omitempty'],
  ContainerStateTerminated: [
    '1 exitCode int32', '2 signal int32 omitempty', '3 reason string omitempty', '4 message string omitempty', '5 startedAt meta.Time omitempty',
    '6 finishedAt meta.Time omitempty', '7 containerID string omitempty',
  ],
  ContainerStateWaiting: ['1 reason string omitempty', '2 message string omitempty'],
  ContainerStatus: [
    '1 name string', '2 state ContainerState omitempty', '3 lastState ContainerState omitempty', '4 ready bool', '5 restartCount int32', '6 image string',
    '7 imageID string', '8 containerID string omitempty', '9 started *bool omitempty', '10 allocatedResources map[string]resource.Quantity omitempty',
    '11 resources *ResourceRequirements omitempty', '12 volumeMounts []VolumeMountStatus omitempty', '13 user *ContainerUser omitempty',
    '14 allocatedResourcesStatus []ResourceStatus omitempty', '15 stopSignal *string omitempty',
  ],
  ContainerUser: ['1 linux *LinuxContainerUser omitempty'],
  DownwardAPIProjection: ['1 items []DownwardAPIVolumeFile omitempty'],
  DownwardAPIVolumeFile: [
    '1 path string', '2 fieldRef *ObjectFieldSelector omitempty', '3 resourceFieldRef *ResourceFieldSelector omitempty', '4 mode *int32 omitempty',
    '5 user *int64 omitempty',
  ],
  DownwardAPIVolumeSource: ['1 items []DownwardAPIVolumeFile omitempty', '2 defaultMode *int32 omitempty', '3 defaultUser *int64 omitempty'],
  EmptyDirVolumeSource: ['1 medium string omitempty', '2 sizeLimit *resource.Quantity omitempty', '3 mode *int32 omitempty'],
  EnvFromSource: ['1 prefix string omitempty', '2 configMapRef *ConfigMapEnvSource omitempty', '3 secretRef *SecretEnvSource omitempty'],
  EnvVar: ['1 name string', '2 value string omitempty', '3 valueFrom *EnvVarSource omitempty'],
  EnvVarSource: [
    '1 fieldRef *ObjectFieldSelector omitempty', '2 resourceFieldRef *ResourceFieldSelector omitempty', '3 configMapKeyRef *ConfigMapKeySelector omitempty',
    '4 secretKeyRef *SecretKeySelector omitempty', '5 fileKeyRef *FileKeySelector omitempty',
  ],
  EphemeralContainer: ['1 ephemeralContainerCommon EphemeralContainerCommon inline', '2 targetContainerName string omitempty'],
  EphemeralContainerCommon: [
    '1 name string', '2 image string omitempty', '3 command []string omitempty', '4 args []string omitempty', '5 workingDir string omitempty',
    '6 ports []ContainerPort omitempty', '19 envFrom []EnvFromSource omitempty', '7 env []EnvVar omitempty', '8 resources ResourceRequirements omitempty',
    '23 resizePolicy []ContainerResizePolicy omitempty', '24 restartPolicy *string omitempty', '25 restartPolicyRules []ContainerRestartRule omitempty',
    '9 volumeMounts []VolumeMount omitempty', '21 volumeDevices []VolumeDevice omitempty', '10 livenessProbe *Probe omitempty',
    '11 readinessProbe *Probe omitempty', '22 startupProbe *Probe omitempty', '12 lifecycle *Lifecycle omitempty',
    '13 terminationMessagePath string omitempty', '20 terminationMessagePolicy string omitempty', '14 imagePullPolicy string omitempty',
    '15 securityContext *SecurityContext omitempty', '16 stdin bool omitempty', '17 stdinOnce bool omitempty', '18 tty bool omitempty',
  ],
  EphemeralVolumeSource: ['1 volumeClaimTemplate *PersistentVolumeClaimTemplate omitempty'],
  EvictionResponder: ['1 name string', '2 priority *int32'],
  ExecAction: ['1 command []string omitempty'],
  FCVolumeSource: [
    '1 targetWWNs []string omitempty', '2 lun *int32 omitempty', '3 fsType string omitempty', '4 readOnly bool omitempty', '5 wwids []string omitempty',
  ],
  FileKeySelector: ['1 volumeName string', '2 path string', '3 key string', '4 optional *bool omitempty'],
  FlexVolumeSource: [
    '1 driver string', '2 fsType string omitempty', '3 secretRef *LocalObjectReference omitempty', '4 readOnly bool omitempty',
    '5 options map[string]string omitempty',
  ],
  FlockerVolumeSource: ['1 datasetName string omitempty', '2 datasetUUID string omitempty'],
  GCEPersistentDiskVolumeSource: ['1 pdName string', '2 fsType string omitempty', '3 partition int32 omitempty', '4 readOnly bool omitempty'],
  GRPCAction: ['1 port int32', '2 service *string', '3 mode *string omitempty'],
  GitRepoVolumeSource: ['1 repository string', '2 revision string omitempty', '3 directory string omitempty'],
  GlusterfsVolumeSource: ['1 endpoints string', '2 path string', '3 readOnly bool omitempty'],
  HTTPGetAction: [
    '1 path string omitempty', '2 port intstr.IntOrString', '3 host string omitempty', '4 scheme string omitempty', '5 httpHeaders []HTTPHeader omitempty',
    '6 protocol *string omitempty',
  ],
  HTTPHeader: ['1 name string', '2 value string'],
  HostAlias: ['1 ip string', '2 hostnames []string omitempty'],
  HostIP: ['1 ip string'],
  HostPathVolumeSource: ['1 path string', '2 type *string omitempty'],
  ISCSIVolumeSource: [
    '1 targetPortal string', '2 iqn string', '3 lun int32', '4 iscsiInterface string omitempty', '5 fsType string omitempty', '6 readOnly bool omitempty',
    '7 portals []string omitempty', '8 chapAuthDiscovery bool omitempty', '11 chapAuthSession bool omitempty', '10 secretRef *LocalObjectReference omitempty',
    '12 initiatorName *string omitempty',
  ],
  ImageVolumeSource: ['1 reference string omitempty', '2 pullPolicy string omitempty'],
  ImageVolumeStatus: ['1 imageRef string omitempty'],
  KeyToPath: ['1 key string', '2 path string', '3 mode *int32 omitempty', '4 user *int64 omitempty'],
  Lifecycle: ['1 postStart *LifecycleHandler omitempty', '2 preStop *LifecycleHandler omitempty', '3 stopSignal *string omitempty'],
  LifecycleHandler: [
    '1 exec *ExecAction omitempty', '2 httpGet *HTTPGetAction omitempty', '3 tcpSocket *TCPSocketAction omitempty', '4 sleep *SleepAction omitempty',
  ],
  LinuxContainerUser: ['1 uid int64', '2 gid int64', '3 supplementalGroups []int64 omitempty'],
  LocalObjectReference: ['1 name string omitempty'],
  NFSVolumeSource: ['1 server string', '2 path string', '3 readOnly bool omitempty'],
  Namespace: ['1 metadata meta.ObjectMeta omitempty', '2 spec NamespaceSpec omitempty', '3 status NamespaceStatus omitempty'],
  NamespaceCondition: [
    '1 type string', '2 status string', '4 lastTransitionTime meta.Time omitempty', '5 reason string omitempty', '6 message string omitempty',
  ],
  NamespaceSpec: ['1 finalizers []string omitempty'],
  NamespaceStatus: ['1 phase string omitempty', '2 conditions []NamespaceCondition omitempty'],
  NodeAffinity: [
    '1 requiredDuringSchedulingIgnoredDuringExecution *NodeSelector omitempty',
    '2 preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm omitempty',
  ],
  NodeAllocatableMappedResources: ['1 name string', '2 quantity *resource.Quantity'],
  NodeAllocatableOverheadResources: ['1 name string', '2 perPod *resource.Quantity omitempty', '3 perContainer *resource.Quantity omitempty'],
  NodeAllocatableResourceClaimStatus: [
    '1 resourceClaimName string', '2 containers []string omitempty', '4 mapping []NodeAllocatableMappedResources omitempty',
    '5 overhead []NodeAllocatableOverheadResources omitempty',
  ],
  NodeSelector: ['1 nodeSelectorTerms []NodeSelectorTerm'],
  NodeSelectorRequirement: ['1 key string', '2 operator string', '3 values []string omitempty'],
  NodeSelectorTerm: ['1 matchExpressions []NodeSelectorRequirement omitempty', '2 matchFields []NodeSelectorRequirement omitempty'],
  ObjectFieldSelector: ['1 apiVersion string omitempty', '2 fieldPath string'],
  PersistentVolumeClaimSpec: [
    '1 accessModes []string omitempty', '4 selector *meta.LabelSelector omitempty', '2 resources VolumeResourceRequirements omitempty',
    '3 volumeName string omitempty', '5 storageClassName *string omitempty', '6 volumeMode *string omitempty',
    '7 dataSource *TypedLocalObjectReference omitempty', '8 dataSourceRef *TypedObjectReference omitempty', '9 volumeAttributesClassName *string omitempty',
  ],
  PersistentVolumeClaimTemplate: ['1 metadata meta.ObjectMeta omitempty', '2 spec PersistentVolumeClaimSpec'],
  PersistentVolumeClaimVolumeSource: ['1 claimName string', '2 readOnly bool omitempty'],
  PhotonPersistentDiskVolumeSource: ['1 pdID string', '2 fsType string omitempty'],
  Pod: ['1 metadata meta.ObjectMeta omitempty', '2 spec PodSpec omitempty', '3 status PodStatus omitempty'],
  PodAffinity: [
    '1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm omitempty',
    '2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm omitempty',
  ],
  PodAffinityTerm: [
    '1 labelSelector *meta.LabelSelector omitempty', '2 namespaces []string omitempty', '3 topologyKey string',
    '4 namespaceSelector *meta.LabelSelector omitempty', '5 matchLabelKeys []string omitempty', '6 mismatchLabelKeys []string omitempty',
  ],
  PodAntiAffinity: [
    '1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm omitempty',
    '2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm omitempty',
  ],
  PodCertificateProjection: [
    '1 signerName string omitempty', '2 keyType string omitempty', '3 maxExpirationSeconds *int32 omitempty', '4 credentialBundlePath string omitempty',
    '5 keyPath string omitempty', '6 certificateChainPath string omitempty', '7 userAnnotations map[string]string omitempty', '8 user *int64 omitempty',
  ],
  PodCondition: [
    '1 type string', '7 observedGeneration int64 omitempty', '2 status string', '3 lastProbeTime meta.Time omitempty',
    '4 lastTransitionTime meta.Time omitempty', '5 reason string omitempty', '6 message string omitempty',
  ],
  PodDNSConfig: ['1 nameservers []string omitempty', '2 searches []string omitempty', '3 options []PodDNSConfigOption omitempty'],
  PodDNSConfigOption: ['1 name string omitempty', '2 value *string omitempty'],
  PodExtendedResourceClaimStatus: ['1 requestMappings []ContainerExtendedResourceRequest', '2 resourceClaimName string'],
  PodIP: ['1 ip string'],
  PodOS: ['1 name string'],
  PodReadinessGate: ['1 conditionType string'],
  PodResourceClaim: ['1 name string', '3 resourceClaimName *string omitempty', '4 resourceClaimTemplateName *string omitempty'],
  PodResourceClaimStatus: ['1 name string', '2 resourceClaimName *string omitempty'],
  PodSchedulingGate: ['1 name string'],
  PodSchedulingGroup: ['1 podGroupName *string omitempty'],
  PodSecurityContext: [
    '1 seLinuxOptions *SELinuxOptions omitempty', '8 windowsOptions *WindowsSecurityContextOptions omitempty', '2 runAsUser *int64 omitempty',
    '6 runAsGroup *int64 omitempty', '3 runAsNonRoot *bool omitempty', '4 supplementalGroups []int64 omitempty',
    '12 supplementalGroupsPolicy *string omitempty', '5 fsGroup *int64 omitempty', '7 sysctls []Sysctl omitempty', '9 fsGroupChangePolicy *string omitempty',
    '10 seccompProfile *SeccompProfile omitempty', '11 appArmorProfile *AppArmorProfile omitempty', '13 seLinuxChangePolicy *string omitempty',
  ],
  PodSpec: [
    '1 volumes []Volume omitempty', '20 initContainers []Container omitempty', '2 containers []Container',
    '34 ephemeralContainers []EphemeralContainer omitempty', '3 restartPolicy string omitempty', '4 terminationGracePeriodSeconds *int64 omitempty',
    '5 activeDeadlineSeconds *int64 omitempty', '6 dnsPolicy string omitempty', '7 nodeSelector map[string]string omitempty',
    '8 serviceAccountName string omitempty', '9 serviceAccount string omitempty', '21 automountServiceAccountToken *bool omitempty',
    '10 nodeName string omitempty', '11 hostNetwork bool omitempty', '12 hostPID bool omitempty', '13 hostIPC bool omitempty',
    '27 shareProcessNamespace *bool omitempty', '14 securityContext *PodSecurityContext omitempty', '15 imagePullSecrets []LocalObjectReference omitempty',
    '16 hostname string omitempty', '17 subdomain string omitempty', '18 affinity *Affinity omitempty', '19 schedulerName string omitempty',
    '22 tolerations []Toleration omitempty', '23 hostAliases []HostAlias omitempty', '24 priorityClassName string omitempty', '25 priority *int32 omitempty',
    '26 dnsConfig *PodDNSConfig omitempty', '28 readinessGates []PodReadinessGate omitempty', '29 runtimeClassName *string omitempty',
    '30 enableServiceLinks *bool omitempty', '31 preemptionPolicy *string omitempty', '32 overhead map[string]resource.Quantity omitempty',
    '33 topologySpreadConstraints []TopologySpreadConstraint omitempty', '35 setHostnameAsFQDN *bool omitempty', '36 os *PodOS omitempty',
    '37 hostUsers *bool omitempty', '38 schedulingGates []PodSchedulingGate omitempty', '39 resourceClaims []PodResourceClaim omitempty',
    '40 resources *ResourceRequirements omitempty', '41 hostnameOverride *string omitempty', '43 schedulingGroup *PodSchedulingGroup omitempty',
    '44 evictionResponders []EvictionResponder omitempty',
  ],
  PodStatus: [
    '17 observedGeneration int64 omitempty', '1 phase string omitempty', '2 conditions []PodCondition omitempty', '3 message string omitempty',
    '4 reason string omitempty', '11 nominatedNodeName string omitempty', '5 hostIP string omitempty', '16 hostIPs []HostIP omitempty',
    '6 podIP string omitempty', '12 podIPs []PodIP omitempty', '7 startTime *meta.Time omitempty', '10 initContainerStatuses []ContainerStatus omitempty',
    '8 containerStatuses []ContainerStatus omitempty', '9 qosClass string omitempty', '13 ephemeralContainerStatuses []ContainerStatus omitempty',
    '14 resize string omitempty', '15 resourceClaimStatuses []PodResourceClaimStatus omitempty',
    '18 extendedResourceClaimStatus *PodExtendedResourceClaimStatus omitempty', '19 allocatedResources map[string]resource.Quantity omitempty',
    '20 resources *ResourceRequirements omitempty', '21 nodeAllocatableResourceClaimStatuses []NodeAllocatableResourceClaimStatus omitempty',
    '22 volumeHealth []PodVolumeHealth omitempty',
  ],
  PodVolumeHealth: ['1 name string', '2 healthConditions []VolumeHealthCondition omitempty', '3 lastTransitionTime meta.Time omitempty'],
  PortworxVolumeSource: ['1 volumeID string', '2 fsType string omitempty', '3 readOnly bool omitempty'],
  PreferredSchedulingTerm: ['1 weight int32', '2 preference NodeSelectorTerm'],
  Probe: [
    '1 handler ProbeHandler inline', '2 initialDelaySeconds int32 omitempty', '3 timeoutSeconds int32 omitempty', '4 periodSeconds int32 omitempty',
    '5 successThreshold int32 omitempty', '6 failureThreshold int32 omitempty', '7 terminationGracePeriodSeconds *int64 omitempty',
  ],
  ProbeHandler: [
    '1 exec *ExecAction omitempty', '2 httpGet *HTTPGetAction omitempty', '3 tcpSocket *TCPSocketAction omitempty', '4 grpc *GRPCAction omitempty',
  ],
  ProjectedVolumeSource: ['1 sources []VolumeProjection', '2 defaultMode *int32 omitempty', '3 defaultUser *int64 omitempty'],
  QuobyteVolumeSource: [
    '1 registry string', '2 volume string', '3 readOnly bool omitempty', '4 user string omitempty', '5 group string omitempty', '6 tenant string omitempty',
  ],
  RBDVolumeSource: [
    '1 monitors []string', '2 image string', '3 fsType string omitempty', '4 pool string omitempty', '5 user string omitempty', '6 keyring string omitempty',
    '7 secretRef *LocalObjectReference omitempty', '8 readOnly bool omitempty',
  ],
  ResourceClaim: ['1 name string', '2 request string omitempty'],
  ResourceFieldSelector: ['1 containerName string omitempty', '2 resource string', '3 divisor resource.Quantity omitempty'],
  ResourceHealth: ['1 resourceID string', '2 health string omitempty', '6 message *string omitempty'],
  ResourceRequirements: [
    '1 limits map[string]resource.Quantity omitempty', '2 requests map[string]resource.Quantity omitempty', '3 claims []ResourceClaim omitempty',
  ],
  ResourceStatus: ['1 name string', '2 resources []ResourceHealth omitempty'],
  SELinuxOptions: ['1 user string omitempty', '2 role string omitempty', '3 type string omitempty', '4 level string omitempty'],
  ScaleIOVolumeSource: [
    '1 gateway string', '2 system string', '3 secretRef *LocalObjectReference', '4 sslEnabled bool omitempty', '5 protectionDomain string omitempty',
    '6 storagePool string omitempty', '7 storageMode string omitempty', '8 volumeName string omitempty', '9 fsType string omitempty',
    '10 readOnly bool omitempty',
  ],
  SeccompProfile: ['1 type string', '2 localhostProfile *string omitempty'],
  Secret: [
    '1 metadata meta.ObjectMeta omitempty', '5 immutable *bool omitempty', '2 data map[string]bytes omitempty', '4 stringData map[string]string omitempty',
    '3 type string omitempty',
  ],
  SecretEnvSource: ['1 localObjectReference LocalObjectReference inline', '2 optional *bool omitempty'],
  SecretKeySelector: ['1 localObjectReference LocalObjectReference inline', '2 key string', '3 optional *bool omitempty'],
  SecretProjection: ['1 localObjectReference LocalObjectReference inline', '2 items []KeyToPath omitempty', '4 optional *bool omitempty'],
  SecretVolumeSource: [
    '1 secretName string omitempty', '2 items []KeyToPath omitempty', '3 defaultMode *int32 omitempty', '4 optional *bool omitempty',
    '5 defaultUser *int64 omitempty',
  ],
  SecurityContext: [
    '1 capabilities *Capabilities omitempty', '2 privileged *bool omitempty', '3 seLinuxOptions *SELinuxOptions omitempty',
    '10 windowsOptions *WindowsSecurityContextOptions omitempty', '4 runAsUser *int64 omitempty', '8 runAsGroup *int64 omitempty',
    '5 runAsNonRoot *bool omitempty', '6 readOnlyRootFilesystem *bool omitempty', '7 allowPrivilegeEscalation *bool omitempty',
    '9 procMount *string omitempty', '11 seccompProfile *SeccompProfile omitempty', '12 appArmorProfile *AppArmorProfile omitempty',
  ],
  ServiceAccountTokenProjection: ['1 audience string omitempty', '2 expirationSeconds *int64 omitempty', '3 path string', '4 user *int64 omitempty'],
  SleepAction: ['1 seconds int64'],
  StorageOSVolumeSource: [
    '1 volumeName string omitempty', '2 volumeNamespace string omitempty', '3 fsType string omitempty', '4 readOnly bool omitempty',
    '5 secretRef *LocalObjectReference omitempty',
  ],
  Sysctl: ['1 name string', '2 value string'],
  TCPSocketAction: ['1 port intstr.IntOrString', '2 host string omitempty'],
  Toleration: [
    '1 key string omitempty', '2 operator string omitempty', '3 value string omitempty', '4 effect string omitempty', '5 tolerationSeconds *int64 omitempty',
  ],
  TopologySpreadConstraint: [
    '1 maxSkew int32', '2 topologyKey string', '3 whenUnsatisfiable string', '4 labelSelector *meta.LabelSelector omitempty', '5 minDomains *int32 omitempty',
    '6 nodeAffinityPolicy *string omitempty', '7 nodeTaintsPolicy *string omitempty', '8 matchLabelKeys []string omitempty',
  ],
  TypedLocalObjectReference: ['1 apiGroup *string', '2 kind string', '3 name string'],
  TypedObjectReference: ['1 apiGroup *string', '2 kind string', '3 name string', '4 namespace *string omitempty'],
  Volume: ['1 name string', '2 volumeSource VolumeSource inline'],
  VolumeDevice: ['1 name string', '2 devicePath string'],
  VolumeHealthCondition: ['1 status string', '2 reason string', '3 message string omitempty'],
  VolumeMount: [
    '1 name string', '2 readOnly bool omitempty', '7 recursiveReadOnly *string omitempty', '3 mountPath string', '4 subPath string omitempty',
    '5 mountPropagation *string omitempty', '6 subPathExpr string omitempty', '8 bindMountOptions []string omitempty',
  ],
  VolumeMountStatus: [
    '1 name string', '2 mountPath string', '3 readOnly bool omitempty', '4 recursiveReadOnly *string omitempty', '5 volumeStatus *VolumeStatus omitempty',
  ],
  VolumeProjection: [
    '1 secret *SecretProjection omitempty', '2 downwardAPI *DownwardAPIProjection omitempty', '3 configMap *ConfigMapProjection omitempty',
    '4 serviceAccountToken *ServiceAccountTokenProjection omitempty', '5 clusterTrustBundle *ClusterTrustBundleProjection omitempty',
    '6 podCertificate *PodCertificateProjection omitempty',
  ],
  VolumeResourceRequirements: ['1 limits map[string]resource.Quantity omitempty', '2 requests map[string]resource.Quantity omitempty'],
  VolumeSource: [
    '1 hostPath *HostPathVolumeSource omitempty', '2 emptyDir *EmptyDirVolumeSource omitempty', '3 gcePersistentDisk *GCEPersistentDiskVolumeSource omitempty',
    '4 awsElasticBlockStore *AWSElasticBlockStoreVolumeSource omitempty', '5 gitRepo *GitRepoVolumeSource omitempty', '6 secret *SecretVolumeSource omitempty',
    '7 nfs *NFSVolumeSource omitempty', '8 iscsi *ISCSIVolumeSource omitempty', '9 glusterfs *GlusterfsVolumeSource omitempty',
    '10 persistentVolumeClaim *PersistentVolumeClaimVolumeSource omitempty', '11 rbd *RBDVolumeSource omitempty', '12 flexVolume *FlexVolumeSource omitempty',
    '13 cinder *CinderVolumeSource omitempty', '14 cephfs *CephFSVolumeSource omitempty', '15 flocker *FlockerVolumeSource omitempty',
    '16 downwardAPI *DownwardAPIVolumeSource omitempty', '17 fc *FCVolumeSource omitempty', '18 azureFile *AzureFileVolumeSource omitempty',
    '19 configMap *ConfigMapVolumeSource omitempty', '20 vsphereVolume *VsphereVirtualDiskVolumeSource omitempty', '21 quobyte *QuobyteVolumeSource omitempty',
    '22 azureDisk *AzureDiskVolumeSource omitempty', '23 photonPersistentDisk *PhotonPersistentDiskVolumeSource omitempty',
    '26 projected *ProjectedVolumeSource omitempty', '24 portworxVolume *PortworxVolumeSource omitempty', '25 scaleIO *ScaleIOVolumeSource omitempty',
    '27 storageos *StorageOSVolumeSource omitempty', '28 csi *CSIVolumeSource omitempty', '29 ephemeral *EphemeralVolumeSource omitempty',
    '30 image *ImageVolumeSource omitempty',
  ],
  VolumeStatus: ['1 image *ImageVolumeStatus omitempty'],
  VsphereVirtualDiskVolumeSource: [
    '1 volumePath string', '2 fsType string omitempty', '3 storagePolicyName string omitempty', '4 storagePolicyID string omitempty',
  ],
  WeightedPodAffinityTerm: ['1 weight int32', '2 podAffinityTerm PodAffinityTerm'],
  WindowsSecurityContextOptions: [
    '1 gmsaCredentialSpecName *string omitempty', '2 gmsaCredentialSpec *string omitempty', '3 runAsUserName *string omitempty',
    '4 hostProcess *bool omitempty',
  ],
  // authentication.k8s.io/v1 (k8s.io/api/authentication/v1)
  'authn.SelfSubjectReview': ['1 metadata meta.ObjectMeta omitempty', '2 status authn.SelfSubjectReviewStatus omitempty'],
  'authn.SelfSubjectReviewStatus': ['1 userInfo authn.UserInfo omitempty'],
  'authn.UserInfo': ['1 username string omitempty', '2 uid string omitempty', '3 groups []string omitempty', '4 extra map[string]authn.ExtraValue omitempty'],
  // authorization.k8s.io/v1 (k8s.io/api/authorization/v1)
  'authz.FieldSelectorAttributes': ['1 rawSelector string omitempty', '2 requirements []meta.FieldSelectorRequirement omitempty'],
  'authz.LabelSelectorAttributes': ['1 rawSelector string omitempty', '2 requirements []meta.LabelSelectorRequirement omitempty'],
  'authz.NonResourceAttributes': ['1 path string omitempty', '2 verb string omitempty'],
  'authz.ResourceAttributes': [
    '1 namespace string omitempty', '2 verb string omitempty', '3 group string omitempty', '4 version string omitempty', '5 resource string omitempty',
    '6 subresource string omitempty', '7 name string omitempty', '8 fieldSelector *authz.FieldSelectorAttributes omitempty',
    '9 labelSelector *authz.LabelSelectorAttributes omitempty',
  ],
  'authz.SelfSubjectAccessReview': [
    '1 metadata meta.ObjectMeta omitempty', '2 spec authz.SelfSubjectAccessReviewSpec', '3 status authz.SubjectAccessReviewStatus omitempty',
  ],
  'authz.SelfSubjectAccessReviewSpec': [
    '1 resourceAttributes *authz.ResourceAttributes omitempty', '2 nonResourceAttributes *authz.NonResourceAttributes omitempty',
  ],
  'authz.SubjectAccessReviewStatus': ['1 allowed bool', '4 denied bool omitempty', '2 reason string omitempty', '3 evaluationError string omitempty'],
};
