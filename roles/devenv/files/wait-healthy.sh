# Waits until every container named is healthy, asking Docker twice a second (entry point `wait`, run as
# `sh -c <this> wait-healthy SECONDS NAME...` on the managed host). Prints one line per container, as Docker last
# reported it: "name state health" (health "none" when it has no health check). Exits 0 once all are healthy; 1 as
# soon as one is not running (it will not become healthy) or when SECONDS have passed; 2 when Docker cannot be asked.
seconds=$1
shift
deadline=$(( $(date +%s) + seconds ))
while :; do
  report=$(docker inspect --format \
    '{{slice .Name 1}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$@" 2>&1) \
    || { printf '%s\n' "$report"; exit 2; }
  waiting=$(printf '%s\n' "$report" | awk '$3 != "healthy"')
  if [ -z "$waiting" ]; then
    printf '%s\n' "$report"
    exit 0
  fi
  if printf '%s\n' "$waiting" | awk '$2 != "running" { stopped = 1 } END { exit !stopped }' \
     || [ "$(date +%s)" -ge "$deadline" ]; then
    printf '%s\n' "$report"
    exit 1
  fi
  sleep 0.5
done
