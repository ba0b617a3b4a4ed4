{{/* ------------------------------------------------------------ names -- */}}

{{- define "fm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's objects: (dict "root" $ "name" "fleet") */}}
{{- define "fm.componentName" -}}
{{- printf "%s-%s" (include "fm.fullname" .root | trunc (int (sub 62 (len .name))) | trimSuffix "-") .name -}}
{{- end -}}

{{/* DNS name of a component's Service inside the cluster. */}}
{{- define "fm.serviceHost" -}}
{{- printf "%s.%s.svc.%s" (include "fm.componentName" .) .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end -}}

{{/* ----------------------------------------------------------- labels -- */}}

{{- define "fm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fm.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "fm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "fm.selectorLabels" . }}
app.kubernetes.io/part-of: fleet-mesh
app.kubernetes.io/version: {{ include "fm.imageTag" .root | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* Labels every pod of the release carries (the default-deny policy selects them). */}}
{{- define "fm.releaseSelector" -}}
app.kubernetes.io/name: {{ include "fm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* ------------------------------------------------------------ image -- */}}

{{- define "fm.imageTag" -}}
{{- $tag := toString (default .Chart.AppVersion .Values.image.tag) -}}
{{- if or (eq (lower $tag) "latest") (eq $tag "") -}}
{{- fail (printf "image.tag %q is not allowed: pin a version (default: the chart's appVersion %s)" $tag .Chart.AppVersion) -}}
{{- end -}}
{{- $tag -}}
{{- end -}}

{{- define "fm.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}{{- $repo = printf "%s/%s" (trimSuffix "/" .Values.image.registry) $repo -}}{{- end -}}
{{- if contains ":" (last (splitList "/" $repo)) -}}
{{- fail (printf "image.repository %q must not contain a tag: use image.tag" .Values.image.repository) -}}
{{- end -}}
{{- $tag := include "fm.imageTag" . -}}
{{- if .Values.image.digest -}}
{{- if not (regexMatch "^sha256:[a-f0-9]{64}$" .Values.image.digest) -}}
{{- fail (printf "image.digest %q must look like sha256:<64 hex digits>" .Values.image.digest) -}}
{{- end -}}
{{- printf "%s:%s@%s" $repo $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* ------------------------------------------------------- components -- */}}

{{/*
Deep merge that lets src override dst with any value, including false, 0 and
"" (sprig's merge/mergeOverwrite treat those as "empty" and skip them).
Mutates .dst in place.
*/}}
{{- define "fm.mergeInto" -}}
{{- $dst := .dst -}}
{{- range $k, $v := .src -}}
{{- $cur := get $dst $k -}}
{{- if and (kindIs "map" $v) (kindIs "map" $cur) -}}
{{- include "fm.mergeInto" (dict "dst" $cur "src" $v) -}}
{{- else -}}
{{- $_ := set $dst $k (deepCopy $v) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's effective settings: componentDefaults, then components.<name>. Returns YAML. */}}
{{- define "fm.component" -}}
{{- $c := deepCopy .root.Values.componentDefaults -}}
{{- include "fm.mergeInto" (dict "dst" $c "src" (get .root.Values.components .name)) -}}
{{- $_ := set $c "name" .name -}}
{{- $_ := set $c "isGateway" (eq .name "gateway") -}}
{{- toYaml $c -}}
{{- end -}}

{{/* Names of the enabled domain services (not the gateway), sorted. Returns a JSON list. */}}
{{- define "fm.enabledServices" -}}
{{- $out := list -}}
{{- range $name, $c := .Values.components -}}
{{- if and (ne $name "gateway") $c.enabled -}}{{- $out = append $out $name -}}{{- end -}}
{{- end -}}
{{- toJson (sortAlpha $out) -}}
{{- end -}}

{{/* Seconds Kubernetes waits after the preStop hook starts before SIGKILL. */}}
{{- define "fm.terminationGrace" -}}
{{- $c := .c -}}
{{- $drain := add (int $c.preStopSleepSeconds) (div (add (int $c.shutdownGraceMs) 999) 1000) 2 -}}
{{- if $c.terminationGracePeriodSeconds -}}
{{- if le (int $c.terminationGracePeriodSeconds) (int $drain) -}}
{{- fail (printf "components.%s.terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + shutdownGraceMs/1000 + 2 (= %d): the process would be killed while draining" $c.name $c.terminationGracePeriodSeconds $drain) -}}
{{- end -}}
{{- $c.terminationGracePeriodSeconds -}}
{{- else -}}
{{- add $drain 5 -}}
{{- end -}}
{{- end -}}

{{/* A secret reference {name, key}; fails when incomplete. (dict "ref" . "what" "...") */}}
{{- define "fm.secretKeyRef" -}}
{{- if not (and .ref .ref.name .ref.key) -}}
{{- fail (printf "%s: a Secret reference {name, key} is required (secrets are never taken from values)" .what) -}}
{{- end -}}
secretKeyRef:
  name: {{ .ref.name | quote }}
  key: {{ .ref.key | quote }}
{{- end -}}

{{/*
Refuses plaintext secrets in free-form values: scalar keys named like secrets
(password, secret, token, apiKey, privateKey, credentials; "tokens:" or
"passwords:" sections are fine) and URLs carrying a password.
*/}}
{{- define "fm.refuseSecretKeys" -}}
{{- $where := .where -}}
{{- range $k, $v := .tree -}}
{{- if kindIs "map" $v -}}
{{- include "fm.refuseSecretKeys" (dict "tree" $v "where" (printf "%s.%s" $where $k)) -}}
{{- else if regexMatch "(?i)(password|passwd|secret|token|credentials?|apikey|privatekey)$" $k -}}
{{- fail (printf "%s.%s: secrets are not accepted in values; reference a Secret instead" $where $k) -}}
{{- else if regexMatch "[a-zA-Z][a-zA-Z0-9+.-]*://[^/:@ ]+:[^/@ ]+@" (toString $v) -}}
{{- fail (printf "%s.%s: a URL with a password is a secret; pass it from a Secret (extraEnv valueFrom.secretKeyRef)" $where $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* True ("true") when an environment variable name looks like it carries a secret. */}}
{{- define "fm.secretEnvName" -}}
{{- $last := last (splitList "__" .) -}}
{{- if regexMatch "(?i)(password|passwd|secret|token|credentials?|api_?key|private_?key|secret_access_key|auth)$" $last -}}true{{- end -}}
{{- end -}}

{{/*
Where every process reads the token verification keys (auth.jwks), validated
(the render fails on a bad combination). Returns YAML:
  source: file        the JWKS file from a ConfigMap (fm.jwksConfigMap), mounted
                      in every process as auth.jwksFile
  source: identity    url: identity's JWKS endpoint, set as auth.jwksUrl (which
                      wins over the jwksFile every default.yaml sets);
                      inRelease: true when it is this release's identity Service
                      (its ops port), which the NetworkPolicies then admit
*/}}
{{- define "fm.jwks" -}}
{{- $j := .Values.auth.jwks -}}
{{- $source := toString (default "file" $j.source) -}}
{{- $url := toString (default "" $j.url) -}}
{{- $out := dict "source" $source -}}
{{- if eq $source "file" -}}
{{- if $url -}}
{{- fail "auth.jwks.url is read only with auth.jwks.source: identity: set source: identity, or remove url" -}}
{{- end -}}
{{- else if eq $source "identity" -}}
{{- if $j.inline -}}
{{- fail "auth.jwks.inline is a JWKS file, which source: identity does not read: remove inline (the keys come from identity's JWKS endpoint), or use source: file" -}}
{{- end -}}
{{- if or (lt (int (default 0 $j.cacheSec)) 0) (and $j.cacheSec (lt (int $j.cacheSec) 10)) (lt (int (default 0 $j.minRefreshSec)) 0) -}}
{{- fail (printf "auth.jwks.cacheSec %v / minRefreshSec %v: cacheSec is 0 (the default, 300 s) or at least 10; minRefreshSec is 0 (30 s) or positive" (default 0 $j.cacheSec) (default 0 $j.minRefreshSec)) -}}
{{- end -}}
{{- if $url -}}
{{- if not (regexMatch "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^ ]*)?$" $url) -}}
{{- fail (printf "auth.jwks.url %q: an http(s) URL of a JWKS document without credentials, e.g. https://identity.example.com/.well-known/jwks.json" $url) -}}
{{- end -}}
{{- $_ := set $out "url" $url -}}
{{- $_ := set $out "inRelease" false -}}
{{- else -}}
{{- $id := dict -}}
{{- if hasKey .Values.components "identity" -}}{{- $id = fromYaml (include "fm.component" (dict "root" . "name" "identity")) -}}{{- end -}}
{{- if not $id.enabled -}}
{{- fail "auth.jwks.source identity reads the JWKS of this release's identity service, but components.identity is not enabled: enable it, set auth.jwks.url (an identity elsewhere), or use source: file" -}}
{{- end -}}
{{- $_ := set $out "url" (printf "http://%s:%d/.well-known/jwks.json" (include "fm.serviceHost" (dict "root" . "name" "identity")) (int $id.opsPort)) -}}
{{- $_ := set $out "inRelease" true -}}
{{- end -}}
{{- else -}}
{{- fail (printf "auth.jwks.source %q: use file (a JWKS ConfigMap) or identity (identity's JWKS endpoint)" $source) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The JWKS ConfigMap name (existing, or created from auth.jwks.inline); source: file only. */}}
{{- define "fm.jwksConfigMap" -}}
{{- if .Values.auth.jwks.inline -}}
{{- printf "%s-jwks" (include "fm.fullname" .) -}}
{{- else if .Values.auth.jwks.configMapName -}}
{{- .Values.auth.jwks.configMapName -}}
{{- else -}}
{{- fail "auth.jwks: set configMapName (an existing ConfigMap with the JWKS public keys) or inline (the JWKS JSON)" -}}
{{- end -}}
{{- end -}}

{{/* Database settings of a service: global database.* with components.<name>.database.* on top. Returns YAML. */}}
{{- define "fm.database" -}}
{{- $db := deepCopy (omit .root.Values.database "superuser" "caBundle") -}}
{{- $svc := omit (default dict .c.database) "superuser" "appPasswordSecret" "ownerPasswordSecret" -}}
{{- range $k, $v := $svc -}}{{- if not (kindIs "invalid" $v) -}}{{- if ne (toString $v) "" -}}{{- $_ := set $db $k $v -}}{{- end -}}{{- end -}}{{- end -}}
{{- $su := deepCopy .root.Values.database.superuser -}}
{{- if and .c.database .c.database.superuser -}}{{- include "fm.mergeInto" (dict "dst" $su "src" .c.database.superuser) -}}{{- end -}}
{{- $_ := set $db "superuser" $su -}}
{{- toYaml $db -}}
{{- end -}}

{{/* Environment shared by services and hook Jobs that talk to PostgreSQL. */}}
{{- define "fm.pgTlsEnv" -}}
- name: PGSSLMODE
  value: {{ .root.Values.database.sslMode | quote }}
{{- if .root.Values.database.caBundle.configMapName }}
- name: NODE_EXTRA_CA_CERTS
  value: {{ printf "/etc/fleetmesh/ca/%s" .root.Values.database.caBundle.key | quote }}
{{- end }}
{{- end -}}

{{- define "fm.caVolume" -}}
{{- if .Values.database.caBundle.configMapName -}}
- name: ca-bundle
  configMap:
    name: {{ .Values.database.caBundle.configMapName | quote }}
    items:
      - key: {{ .Values.database.caBundle.key | quote }}
        path: {{ .Values.database.caBundle.key | quote }}
{{- end }}
{{- end -}}

{{- define "fm.caVolumeMount" -}}
{{- if .Values.database.caBundle.configMapName -}}
- name: ca-bundle
  mountPath: /etc/fleetmesh/ca
  readOnly: true
{{- end }}
{{- end -}}

{{/*
Kafka client security shared by the services and the topic Job, from
kafka.tls and kafka.sasl, validated (the render fails on a bad combination).
Returns YAML with only what is switched on:
  tls:            {enabled: true, caFile: <path>?}       services' kafka.tls
  sasl:           {mechanism, username}                  services' kafka.sasl
  passwordSecret: {name, key}                            the SASL password's Secret
  ca:             {kind, name, key, mountPath}           the CA bundle to mount
*/}}
{{- define "fm.kafkaClient" -}}
{{- $tls := default dict .Values.kafka.tls -}}
{{- $sasl := default dict .Values.kafka.sasl -}}
{{- $ca := default dict $tls.caSecret -}}
{{- $out := dict -}}
{{- if $tls.enabled -}}
{{- $t := dict "enabled" true -}}
{{- if $ca.name -}}
{{- $kind := default "Secret" $ca.kind -}}
{{- if not (has $kind (list "Secret" "ConfigMap")) -}}
{{- fail (printf "kafka.tls.caSecret.kind %q: use Secret or ConfigMap" $kind) -}}
{{- end -}}
{{- if not $ca.key -}}
{{- fail "kafka.tls.caSecret.key: the key holding the PEM CA bundle is required" -}}
{{- end -}}
{{- $_ := set $t "caFile" (printf "/etc/fleetmesh/kafka-ca/%s" $ca.key) -}}
{{- $_ := set $out "ca" (dict "kind" $kind "name" $ca.name "key" $ca.key "mountPath" "/etc/fleetmesh/kafka-ca") -}}
{{- end -}}
{{- $_ := set $out "tls" $t -}}
{{- else if $ca.name -}}
{{- fail "kafka.tls.caSecret is set but kafka.tls.enabled is false: enable TLS (MSK: port 9094, or 9096 with SASL/SCRAM) or remove the CA" -}}
{{- end -}}
{{- include "fm.refuseSecretKeys" (dict "tree" (omit $sasl "passwordSecret") "where" "kafka.sasl") -}}
{{- if $sasl.mechanism -}}
{{- $mechanisms := list "scram-sha-512" "scram-sha-256" "plain" -}}
{{- if not (has (toString $sasl.mechanism) $mechanisms) -}}
{{- fail (printf "kafka.sasl.mechanism %q is not supported: use scram-sha-512 (Amazon MSK), scram-sha-256 or plain, or \"\" for no SASL (AWS IAM authentication is not supported)" (toString $sasl.mechanism)) -}}
{{- end -}}
{{- if not $sasl.username -}}
{{- fail "kafka.sasl.username is required when kafka.sasl.mechanism is set" -}}
{{- end -}}
{{- $ref := $sasl.passwordSecret -}}
{{- if not (and (kindIs "map" $ref) $ref.name $ref.key) -}}
{{- fail "kafka.sasl.passwordSecret: a Secret reference {name, key} is required when kafka.sasl.mechanism is set (secrets are never taken from values)" -}}
{{- end -}}
{{- if and (eq $sasl.mechanism "plain") (not $tls.enabled) -}}
{{- fail "kafka.sasl.mechanism plain sends the password in clear text: set kafka.tls.enabled, or use scram-sha-512" -}}
{{- end -}}
{{- $_ := set $out "sasl" (dict "mechanism" $sasl.mechanism "username" (toString $sasl.username)) -}}
{{- $_ := set $out "passwordSecret" (dict "name" $ref.name "key" $ref.key) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The Kafka CA bundle volume, from (fromYaml (include "fm.kafkaClient" $)).ca */}}
{{- define "fm.kafkaCaVolume" -}}
- name: kafka-ca
  {{- if eq .kind "ConfigMap" }}
  configMap:
    name: {{ .name | quote }}
  {{- else }}
  secret:
    secretName: {{ .name | quote }}
  {{- end }}
    items:
      - key: {{ .key | quote }}
        path: {{ .key | quote }}
{{- end -}}

{{- define "fm.kafkaCaVolumeMount" -}}
- name: kafka-ca
  mountPath: {{ .mountPath }}
  readOnly: true
{{- end -}}

{{/* A component's config file (YAML): (dict "root" $ "c" $c). */}}
{{- define "fm.configFile" -}}
{{- $ := .root -}}
{{- $c := .c -}}
{{- $name := $c.name -}}
{{- include "fm.refuseSecretKeys" (dict "tree" (default dict $c.config) "where" (printf "components.%s.config" $name)) }}
{{- $auth := dict
      "enabled" $.Values.auth.enabled
      "issuer" $.Values.auth.issuer
      "audience" $.Values.auth.audience
      "algorithms" $.Values.auth.algorithms
      "clockToleranceSec" $.Values.auth.clockToleranceSec }}
{{- $jwks := fromYaml (include "fm.jwks" $) }}
{{- if eq $jwks.source "identity" }}
{{- /* Identity's endpoint: jwksUrl wins over the jwksFile every default.yaml sets (re-read every jwksCacheSec). */}}
{{- $_ := set $auth "jwksUrl" $jwks.url }}
{{- with $.Values.auth.jwks.cacheSec }}{{- $_ := set $auth "jwksCacheSec" (int .) }}{{- end }}
{{- with $.Values.auth.jwks.minRefreshSec }}{{- $_ := set $auth "jwksMinRefreshSec" (int .) }}{{- end }}
{{- else }}
{{- /* A file from the JWKS ConfigMap, read once at start-up. */}}
{{- $_ := set $auth "jwksFile" (printf "/etc/fleetmesh/jwks/%s" $.Values.auth.jwks.key) }}
{{- end }}
{{- $telemetry := dict "exporter" $.Values.telemetry.exporter }}
{{- if $.Values.telemetry.otlpEndpoint }}{{- $_ := set $telemetry "otlpEndpoint" $.Values.telemetry.otlpEndpoint }}{{- end }}
{{- $cfg := dict
      "service" (dict "name" $name)
      "ops" (dict "host" "0.0.0.0" "port" (int $c.opsPort))
      "auth" $auth
      "log" (dict "level" $.Values.log.level)
      "telemetry" $telemetry
      "shutdown" (dict "graceMs" (int $c.shutdownGraceMs)) }}
{{- if $c.isGateway }}
{{- $_ := set $cfg "http" (dict "host" "0.0.0.0" "port" (int $c.httpPort)) }}
{{- $_ := set $cfg "cors" (dict "allowedOrigins" (default list $c.cors.allowedOrigins) "maxAgeSec" (int $c.cors.maxAgeSec)) }}
{{- $upstreams := dict }}
{{- range $up, $settings := $c.upstreams }}
{{- if not (hasKey $.Values.components $up) }}
{{- fail (printf "components.gateway.upstreams.%s: no such component" $up) }}
{{- end }}
{{- $tc := fromYaml (include "fm.component" (dict "root" $ "name" $up)) }}
{{- /* Routed only when the service is deployed: a disabled one is left out (enabled: false). */}}
{{- $_ := set $upstreams $up (dict
      "enabled" (and $tc.enabled true)
      "address" (printf "%s:%d" (include "fm.serviceHost" (dict "root" $ "name" $up)) (int $tc.grpcPort))
      "deadlineMs" (int $settings.deadlineMs)) }}
{{- end }}
{{- $_ := set $cfg "upstreams" $upstreams }}
{{- else }}
{{- $db := fromYaml (include "fm.database" (dict "root" $ "c" $c)) }}
{{- $_ := set $cfg "grpc" (dict "host" "0.0.0.0" "port" (int $c.grpcPort)) }}
{{- $_ := set $cfg "database" (dict
      "host" $db.host
      "port" (int $db.port)
      "database" $name
      "user" (printf "%s_app" $name)
      "poolMax" (int $db.poolMax)
      "statementTimeoutMs" (int $db.statementTimeoutMs)
      "migrationsDir" (printf "migrations/%s" $name)) }}
{{- /* The services it calls (components.<name>.peers, as in services/registry.yaml), at their in-release Services. */}}
{{- $peers := dict }}
{{- range $peer := (default list $c.peers) }}
{{- if not (hasKey $.Values.components $peer) }}
{{- fail (printf "components.%s.peers: %s is no such component" $name $peer) }}
{{- end }}
{{- $pc := fromYaml (include "fm.component" (dict "root" $ "name" $peer)) }}
{{- $_ := set $peers $peer (dict
      "enabled" (and $pc.enabled true)
      "address" (printf "%s:%d" (include "fm.serviceHost" (dict "root" $ "name" $peer)) (int $pc.grpcPort))
      "deadlineMs" (int (default 2000 $c.peerDeadlineMs))) }}
{{- end }}
{{- if $peers }}
{{- $_ := set $cfg "peers" $peers }}
{{- end }}
{{- with (fromYaml (include "fm.serviceCredential" $c)).clientId }}
{{- /* Its own identity for calls as itself; the secret comes from the environment (deployment.yaml). */}}
{{- $_ := set $cfg "serviceCredential" (dict "issuer" "identity" "clientId" .) }}
{{- end }}
{{- if $.Values.kafka.serviceConfig.enabled }}
{{- $brokers := list }}
{{- range splitList "," $.Values.kafka.brokers }}{{- if trim . }}{{- $brokers = append $brokers (trim .) }}{{- end }}{{- end }}
{{- $kafka := dict "enabled" $.Values.kafka.serviceConfig.events "brokers" $brokers }}
{{- $kc := fromYaml (include "fm.kafkaClient" $) }}
{{- /* Only what is switched on: the defaults (no TLS, no SASL) add no keys. */}}
{{- if $kc.tls }}{{- $_ := set $kafka "tls" $kc.tls }}{{- end }}
{{- if $kc.sasl }}{{- $_ := set $kafka "sasl" $kc.sasl }}{{- end }}
{{- $_ := set $cfg "kafka" $kafka }}
{{- end }}
{{- end }}
{{- include "fm.mergeInto" (dict "dst" $cfg "src" (default dict $c.config)) }}
{{- toYaml $cfg }}
{{- end -}}

{{/* A Kubernetes memory quantity (512Mi, 1Gi, 536870912, 500M) in MiB, rounded down. */}}
{{- define "fm.quantityMi" -}}
{{- $q := toString .q -}}
{{- $m := regexFind "^[0-9]+" $q -}}
{{- $unit := trimPrefix $m $q -}}
{{- $factors := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "k" 1000 "M" 1000000 "G" 1000000000 -}}
{{- if or (not $m) (not (hasKey $factors $unit)) -}}
{{- fail (printf "%s: memory %q: use a whole number with Mi, Gi, Ki, M, G, k or no unit" .what $q) -}}
{{- end -}}
{{- div (mul (int64 $m) (int64 (get $factors $unit))) 1048576 -}}
{{- end -}}

{{/*
Memory sizing of a process from its container's memory limit (componentDefaults.memory,
components.<name>.memory; docs/operations.md "Memory"). Returns YAML {}, or with
autoSize: limitMi, oldSpaceMi, semiSpaceMi, nodeOptions, mallocArenaMax.
  --max-old-space-size   oldSpacePercent of the limit: V8 collects harder as it
                         nears it instead of growing (without it V8 sizes the old
                         space from the node's memory, not the container's)
  --max-semi-space-size  semiSpaceMi: the young generation is 3 x this
  MALLOC_ARENA_MAX       glibc arenas for the native side (TLS, zlib, pg, threads)
What is left of the limit (at least nativeReserveMi) is for code, stacks and
native memory; the render fails when it would be less.
*/}}
{{- define "fm.memory" -}}
{{- $c := .c -}}
{{- $mem := default dict $c.memory -}}
{{- if not $mem.autoSize -}}
{{- dict | toYaml -}}
{{- else -}}
{{- $what := printf "components.%s" $c.name -}}
{{- if not (and $c.resources $c.resources.limits $c.resources.limits.memory) -}}
{{- fail (printf "%s.memory.autoSize needs resources.limits.memory" $what) -}}
{{- end -}}
{{- range $c.extraEnv -}}
{{- if has .name (list "NODE_OPTIONS" "MALLOC_ARENA_MAX") -}}
{{- fail (printf "%s.extraEnv %s: the chart sets it from resources.limits.memory (memory.autoSize); change %s.memory, or set memory.autoSize: false" $what .name $what) -}}
{{- end -}}
{{- end -}}
{{- $limit := int64 (include "fm.quantityMi" (dict "q" $c.resources.limits.memory "what" (printf "%s.resources.limits.memory" $what))) -}}
{{- $pct := int64 $mem.oldSpacePercent -}}
{{- $semi := int64 $mem.semiSpaceMi -}}
{{- $reserve := int64 $mem.nativeReserveMi -}}
{{- if or (lt $pct 10) (gt $pct 90) (lt $semi 1) (gt $semi 256) (lt $reserve 0) (lt (int64 $mem.mallocArenaMax) 1) -}}
{{- fail (printf "%s.memory: oldSpacePercent 10..90, semiSpaceMi 1..256, nativeReserveMi >= 0, mallocArenaMax >= 1 (got %v, %v, %v, %v)" $what $mem.oldSpacePercent $mem.semiSpaceMi $mem.nativeReserveMi $mem.mallocArenaMax) -}}
{{- end -}}
{{- $old := div (mul $limit $pct) 100 -}}
{{- $left := sub (sub $limit $old) (mul 3 $semi) -}}
{{- if lt $left $reserve -}}
{{- fail (printf "%s.memory: with limits.memory %dMi, %d%% old space (%dMi) and a %dMi semi-space (young generation %dMi) leave %dMi for native memory, less than nativeReserveMi %d: lower oldSpacePercent or semiSpaceMi, or raise the limit" $what $limit $pct $old $semi (mul 3 $semi) $left $reserve) -}}
{{- end -}}
{{- dict "limitMi" $limit "oldSpaceMi" $old "semiSpaceMi" $semi "nodeOptions" (printf "--max-old-space-size=%d --max-semi-space-size=%d" $old $semi) "mallocArenaMax" (toString $mem.mallocArenaMax) | toYaml -}}
{{- end -}}
{{- end -}}


{{/*
A service's own credential (components.<name>.serviceCredential), validated:
an identity service client, its clientId in the config file and its secret
from clientSecretSecret as FLEETMESH__SERVICE_CREDENTIAL__CLIENT_SECRET.
Returns YAML {} (none: no clientId, or the gateway) or {clientId, secretRef}.
*/}}
{{- define "fm.serviceCredential" -}}
{{- $sc := default dict .serviceCredential -}}
{{- if or .isGateway (not $sc.clientId) -}}
{{- dict | toYaml -}}
{{- else -}}
{{- $what := printf "components.%s.serviceCredential" .name -}}
{{- if not (regexMatch "^svc_[0-9a-f]{32}$" (toString $sc.clientId)) -}}
{{- fail (printf "%s.clientId %q: the client_id identity issued (svc_ and 32 hex digits), or \"\" for none" $what (toString $sc.clientId)) -}}
{{- end -}}
{{- if not (has "identity" (default list .peers)) -}}
{{- fail (printf "%s: tokens come from identity, which is not in components.%s.peers" $what .name) -}}
{{- end -}}
{{- $ref := $sc.clientSecretSecret -}}
{{- if not (and (kindIs "map" $ref) $ref.name $ref.key) -}}
{{- fail (printf "%s.clientSecretSecret: a Secret reference {name, key} is required with a clientId (secrets are never taken from values)" $what) -}}
{{- end -}}
{{- dict "clientId" (toString $sc.clientId) "secretRef" (dict "name" $ref.name "key" $ref.key) | toYaml -}}
{{- end -}}
{{- end -}}
