{{/* ------------------------------------------------------- monitoring -- */}}

{{/* Names of every enabled process (gateway and services), sorted. Returns a JSON list. */}}
{{- define "fm.enabledProcesses" -}}
{{- $out := list -}}
{{- range $name, $_ := .Values.components -}}
{{- $c := fromYaml (include "fm.component" (dict "root" $ "name" $name)) -}}
{{- if $c.enabled -}}{{- $out = append $out $name -}}{{- end -}}
{{- end -}}
{{- toJson (sortAlpha $out) -}}
{{- end -}}

{{/* A Prometheus duration ("30s", "5m", "1h30m"; "0" or "0m" only where zero is allowed): (dict "v" . "what" "..." "zero" true) */}}
{{- define "fm.promDuration" -}}
{{- $v := toString .v -}}
{{- if not (regexMatch "^([0-9]+(ms|s|m|h|d|w|y))+$|^0$" $v) -}}
{{- fail (printf "%s %q: a Prometheus duration such as 30s, 5m or 1h" .what $v) -}}
{{- end -}}
{{- if and (not .zero) (regexMatch "^(0+(ms|s|m|h|d|w|y))+$|^0$" $v) -}}
{{- fail (printf "%s %q must be longer than 0" .what $v) -}}
{{- end -}}
{{- $v -}}
{{- end -}}

{{/* A non-negative number from values (not a string): (dict "v" . "what" "...") */}}
{{- define "fm.promNumber" -}}
{{- if not (or (kindIs "float64" .v) (kindIs "int" .v) (kindIs "int64" .v)) -}}
{{- fail (printf "%s %v: a number is required" .what .v) -}}
{{- end -}}
{{- if lt (float64 .v) 0.0 -}}
{{- fail (printf "%s %v must not be negative" .what .v) -}}
{{- end -}}
{{- printf "%v" .v -}}
{{- end -}}

{{/*
The label matchers every series of every alert expression must match (without
braces): monitoring.prometheusRule.selector, or the release's namespace and
its enabled processes' `service` label.
*/}}
{{- define "fm.alertSelector" -}}
{{- $pr := .Values.monitoring.prometheusRule -}}
{{- if $pr.selector -}}
{{- if regexMatch "[{}]" $pr.selector -}}
{{- fail (printf "monitoring.prometheusRule.selector %q: label matchers without braces, e.g. namespace=\"fleet-mesh\"" $pr.selector) -}}
{{- end -}}
{{- $pr.selector -}}
{{- else -}}
{{- printf "namespace=%q,service=~%q" .Release.Namespace (join "|" (fromJsonArray (include "fm.enabledProcesses" .))) -}}
{{- end -}}
{{- end -}}

{{/*
One alerting rule (a list item) from monitoring.prometheusRule.alerts.<name>:
(dict "root" $ "name" "OutboxBacklogAging" "expr" "..." "summary" "..." "description" "...")
Nothing when the alert is disabled.
*/}}
{{- define "fm.alertRule" -}}
{{- $pr := .root.Values.monitoring.prometheusRule -}}
{{- $cfg := get $pr.alerts .name -}}
{{- if $cfg.enabled -}}
{{- $what := printf "monitoring.prometheusRule.alerts.%s" .name -}}
{{- if not $cfg.severity -}}
{{- fail (printf "%s.severity is required (critical, warning or info)" $what) -}}
{{- end -}}
{{- $labels := dict -}}
{{- range $k, $v := $pr.alertLabels -}}{{- $_ := set $labels $k (toString $v) -}}{{- end -}}
{{- $_ := set $labels "severity" (toString $cfg.severity) -}}
{{- $rule := dict
      "alert" .name
      "expr" .expr
      "for" (include "fm.promDuration" (dict "v" (default "0m" $cfg.for) "what" (printf "%s.for" $what) "zero" true))
      "labels" $labels
      "annotations" (dict
        "summary" .summary
        "description" .description
        "runbook_url" (printf "%s#%s" (trimSuffix "/" $pr.runbookBaseUrl) (lower .name))) -}}
{{- list $rule | toYaml -}}
{{- end -}}
{{- end -}}
