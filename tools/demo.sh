#!/usr/bin/env bash
# `make demo`: the five practice models of DESIGN.md §1 against a fresh
# local siltad, told as a story. Every step is a real siltactl command over
# mutual TLS as the organisation that would take it; sealing and opening
# happen in siltactl with each organisation's own keys, so the broker never
# sees a field value. Ends by verifying the audit log offline.
#
#   tools/demo.sh BUILD_DIR CERTS_DIR
#
# Leaves nothing running; the broker's files are in a temporary directory
# that is removed at the end (SILTA_DEMO_KEEP=1 keeps it).
set -euo pipefail
BUILD=${1:?usage: demo.sh BUILD_DIR CERTS_DIR}
CERTS=${2:?usage: demo.sh BUILD_DIR CERTS_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CERTS=$(cd "$CERTS" && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SILTAD=$BUILD/server/service/siltad
SILTACTL=$BUILD/client/siltactl

# Test codes only: individual numbers 900-999 are never anyone's permanent HETU.
# The young people's codes are made from today's date, so that they keep their
# ages (whose consent counts depends on it).
test_hetu() {  # test_hetu AGE INDIVIDUAL: someone AGE years old, birthday 100 days ago
  local born dd mm yy yyyy sign n
  born=$(date -u -d "-$1 years -100 days" +%d%m%y%Y)
  dd=${born:0:2} mm=${born:2:2} yy=${born:4:2} yyyy=${born:6:4}
  sign=A
  [ "$yyyy" -lt 2000 ] && sign=-
  n=$(( 10#$dd$mm$yy$2 % 31 ))
  printf '%s%s%s%s%s%s' "$dd" "$mm" "$yy" "$sign" "$2" "${CHECK_CHARS:$n:1}"
}
CHECK_CHARS=0123456789ABCDEFHJKLMNPRSTUVWXY
YOUTH15=$(test_hetu 15 934)   # Ankkuri, one adult
YOUTH17=$(test_hetu 17 950)   # Rovaniemi
ADULT=241185Y912P             # collective impact

WORK=$(mktemp -d "${TMPDIR:-/tmp}/silta-demo.XXXXXX")
SILTAD_PID=
cleanup() {
  if [ -n "$SILTAD_PID" ] && kill -0 "$SILTAD_PID" 2>/dev/null; then
    kill -TERM "$SILTAD_PID" 2>/dev/null || true
    wait "$SILTAD_PID" 2>/dev/null || true
  fi
  if [ "${SILTA_DEMO_KEEP:-0}" = 1 ]; then
    echo "demo files kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

if [ -t 1 ]; then BOLD=$'\033[1m'; DIM=$'\033[2m'; OFF=$'\033[0m'; else BOLD= DIM= OFF=; fi
chapter() { printf '\n%s════ %s ════%s\n' "$BOLD" "$*" "$OFF"; }
say() { printf '\n%s\n' "$*" | fold -s -w 100; }
# quiet ORG [siltactl args...]: run siltactl as that organisation.
quiet() {
  local org=$1
  shift
  "$SILTACTL" --address "127.0.0.1:$PORT" --ca "$CERTS/ca.pem" --crl-dir "$CERTS/crl" \
    --cert "$CERTS/orgs/$org.pem" --key "$CERTS/orgs/$org.key" --keys-dir "$WORK/keys/$org" \
    --signer-cert "$CERTS/orgs/$org.signer.pem" --signer-key "$CERTS/orgs/$org.signer.key" "$@"
}
# as ORG [args...]: the same, showing the command and its indented output.
as() {
  printf '%s[%s]$ siltactl %s%s\n' "$DIM" "$1" "${*:2}" "$OFF"
  quiet "$@" 2>&1 | sed 's/^/    /'
  return "${PIPESTATUS[0]}"
}
# json_field NAME: the first "NAME":"value" of the JSON on stdin.
json_field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }
# expect_refused ORG args...: the command must be refused by the broker (exit 3).
expect_refused() {
  local code=0
  as "$@" || code=$?
  if [ "$code" -ne 3 ]; then
    echo "demo: expected the broker to refuse that (exit 3), got exit $code" >&2
    exit 1
  fi
}

# ---- a fresh broker ---------------------------------------------------------
mkdir -p "$WORK/keys"
# The dev config (as `make run` has it) on free ports, with quick redelivery.
SILTA_DEV_PORT=0 SILTA_DEV_METRICS_PORT=0 "$ROOT/tools/make-dev-config.sh" "$WORK" "$CERTS" 2>/dev/null
cat >> "$WORK/siltad.textproto" <<CFG
listen_port_file: "$WORK/port"
routing { ack_timeout_seconds: 2 }
CFG
"$SILTAD" --config "$WORK/siltad.textproto" 2> "$WORK/siltad.log" &
SILTAD_PID=$!
for _ in $(seq 1 100); do
  [ -s "$WORK/port" ] && break
  kill -0 "$SILTAD_PID" 2>/dev/null || { cat "$WORK/siltad.log" >&2; exit 1; }
  sleep 0.1
done
PORT=$(cat "$WORK/port")

chapter "Silta demo: a fresh broker on 127.0.0.1:$PORT"
say "Each organisation's system has its own client certificate (spiffe://silta.test/org/<id>/sys/dev). \
First every agency creates its message keys on its own machine and publishes the public half, \
signed with its certificate key, so that the broker cannot substitute a key."
for org in police-hame wba-social wba-psychiatry hml-youth rise-probation rise-prison asenne-ry; do
  as "$org" keys publish --worker "it-$org"
done

# ---- 1. Ankkuri --------------------------------------------------------------
chapter "1. Ankkuri (Helsinki): one team, one message, each member its own fields"
say "The police select a 15-year-old as a client and open a case with social services. The HETU \
is typed at a prompt (here: stdin), never on the command line, and the broker keeps only a \
keyed pseudonym of it."
CASE1=$(printf '%s\n' "$YOUTH15" | quiet police-hame --json case create --member wba-social \
  --coordinator-worker officer-12 --worker officer-12 | json_field case_id)
echo "    case $CASE1 opened by police-hame"
as police-hame case add-member "$CASE1" wba-psychiatry --worker officer-12
as police-hame case add-member "$CASE1" hml-youth --worker officer-12 >/dev/null
say "The guardian of the 15-year-old consents, naming who may tell whom: social services may \
pass social-welfare and education data to youth services and to the police, and social-welfare \
and mental-health data to the psychiatric unit; only the psychiatric unit itself may tell the \
police about mental health. The guardian refuses health data to the police outright."
printf '%s\n' "$YOUTH15" | as wba-registrar consent record --grantor GUARDIAN --purpose referral \
  --category social_welfare --category education_employment --from wba-social --to hml-youth \
  --evidence form-A1 --valid-days 180 --worker registrar-1 >/dev/null
printf '%s\n' "$YOUTH15" | as wba-registrar consent record --grantor GUARDIAN --purpose referral \
  --category social_welfare --category mental_health --from wba-social --to wba-psychiatry \
  --evidence form-A1 --valid-days 180 --worker registrar-1 >/dev/null
printf '%s\n' "$YOUTH15" | as wba-registrar consent record --grantor GUARDIAN --purpose referral \
  --category social_welfare --category education_employment --from wba-social \
  --to police-hame --evidence form-A1 --valid-days 180 --worker registrar-1 >/dev/null
printf '%s\n' "$YOUTH15" | as wba-registrar consent record --grantor GUARDIAN --purpose referral \
  --category mental_health --from wba-psychiatry --to police-hame --evidence form-A1 \
  --valid-days 180 --worker registrar-1
printf '%s\n' "$YOUTH15" | as wba-registrar consent refuse --grantor GUARDIAN \
  --category health --to police-hame --evidence form-A2 --worker registrar-1
cat > "$WORK/ankkuri-referral.textproto" <<'EOF'
support_needs: "needs a support person after school"
education_employment: "9th grade, often absent"
mental_health_notes: "psychiatric nurse's assessment pending"
EOF
say "The social worker writes one referral with three fields to the whole team. siltactl shows, \
per recipient and field, what the broker will let through and on which basis, then seals only \
those and sends."
as wba-social message send --type Referral --payload "$WORK/ankkuri-referral.textproto" \
  --case "$CASE1" --to police-hame --to wba-psychiatry --to hml-youth --purpose referral \
  --worker sw-3 --yes
say "Each member opens its inbox. The police do not get the mental-health note: their consent \
for it names only the psychiatric unit as a discloser, not social services."
for org in hml-youth wba-psychiatry police-hame; do as "$org" message inbox --max 1 --wait 10; done
cat > "$WORK/notification.json" <<'EOF'
{"concern": "found alone in the metro at 2 a.m.", "urgent": true}
EOF
echo "patrol report 2026-10-12, officer 12" > "$WORK/justification.txt"
say "Later a patrol finds the child alone at night. A child-welfare notification needs no \
consent: lastensuojelulaki 25 § obliges the police to make it. The justification is sealed too."
as police-hame message send --type ChildWelfareNotification --payload "$WORK/notification.json" \
  --case "$CASE1" --to wba-social --purpose child_welfare_notification \
  --statutory-basis lsl_25 --justification-file "$WORK/justification.txt" --worker officer-12 --yes
as wba-social message inbox --max 1 --wait 10
say "The data-protection officer sees the statutory override flagged in the audit log."
as wba-dpo audit query --case "$CASE1" --type STATUTORY_BASIS_USED
cat > "$WORK/ngo-notification.json" <<'EOF'
{"concern": "seen alone at the railway station at 1 a.m.", "urgent": true}
EOF
echo "night-walk report 2026-10-14, walker 2" > "$WORK/ngo-justification.txt"
say "Two nights later an NGO's night-walker, in no case of this child, sees the child again. \
The notification must be made without delay (25 §), so it does not wait to be let into a case: \
it names the child by HETU at a prompt, and the broker keeps only the pseudonym. Outside a case \
only the notification basis releases anything; no consent does."
NOTE=$(printf '%s\n' "$YOUTH15" | quiet asenne-ry --json message send \
  --type ChildWelfareNotification --payload "$WORK/ngo-notification.json" --to wba-social \
  --purpose child_welfare_notification --statutory-basis lsl_25 \
  --justification-file "$WORK/ngo-justification.txt" --subject-stdin --worker walker-2 --yes \
  | json_field message_id)
echo "    notification $NOTE sent by asenne-ry, outside any case"
as wba-social message inbox --max 1 --wait 10
say "Social services attach it to the child's case, and the police, who coordinate the case, \
now see that it was made."
as wba-social message link --from asenne-ry "$NOTE" --case "$CASE1" --worker sw-3
as police-hame audit query --case "$CASE1" --type NOTIFICATION_LINKED

# ---- 2. Collective impact ----------------------------------------------------
chapter "2. Collective impact (Oulu): referral, network meeting, plan, follow-up, indicators"
say "Probation, preparing a young adult's release from prison, opens a case and refers him to \
the contact person's organisation (the 'Nurri'). He consents himself to what each service gets."
CASE2=$(printf '%s\n' "$ADULT" | quiet rise-probation --json case create --member rise-prison \
  --member asenne-ry --coordinator-worker probation-4 --worker probation-4 | json_field case_id)
echo "    case $CASE2 opened by rise-probation"
NETWORK=(--from rise-probation --from rise-prison --from asenne-ry --from wba-social
         --from wba-psychiatry --from hml-youth --from police-hame)
printf '%s\n' "$ADULT" | as wba-registrar consent record --grantor SUBJECT --purpose referral \
  --purpose follow_up --category social_welfare --category housing \
  --category service_plan --category free_text "${NETWORK[@]}" --to asenne-ry --evidence form-O7 \
  --valid-days 365 --worker registrar-1 >/dev/null
for org in wba-social wba-psychiatry hml-youth police-hame rise-probation; do
  printf '%s\n' "$ADULT" | quiet wba-registrar consent record --grantor SUBJECT \
    --purpose network_meeting --purpose follow_up --category meeting_logistics \
    --category service_plan --category free_text "${NETWORK[@]}" --to "$org" \
    --evidence form-O7 --valid-days 365 --worker registrar-1 >/dev/null
done
echo "    (the registrar recorded his consents for asenne-ry and five services)"
cat > "$WORK/release-referral.textproto" <<'EOF'
sentence_enforcement: "released on parole in October"
housing: "no address after release"
support_needs: "needs a contact person"
EOF
say "His sentence stays with probation: data on offences and sentences goes to an NGO, which is \
not an authority, only under a law, never on consent alone (GDPR Art. 10, tietosuojalaki 7 §)."
as rise-probation message send --type Referral --payload "$WORK/release-referral.textproto" \
  --case "$CASE2" --to asenne-ry --purpose referral --worker probation-4 --yes
as asenne-ry message inbox --max 1 --wait 10
say "The contact person takes the one-adult role, adds the services and invites them to a network meeting."
as rise-probation case transfer "$CASE2" --to asenne-ry --to-worker nurri-1 \
  --reason "contact person agreed at release planning" --worker probation-4
for org in wba-social wba-psychiatry hml-youth police-hame; do
  quiet asenne-ry case add-member "$CASE2" "$org" --worker nurri-1 >/dev/null
done
cat > "$WORK/invite.textproto" <<EOF
starts_at { seconds: $(( $(date +%s) + 7 * 86400 )) }
duration_minutes: 90
location: "Oulu, Nurri meeting room 2"
invited_org_ids: ["rise-probation", "wba-social", "wba-psychiatry", "hml-youth", "police-hame"]
agenda: "housing first, then school"
EOF
as asenne-ry message send --type MeetingInvite --payload "$WORK/invite.textproto" \
  --case "$CASE2" --to rise-probation --to wba-social --to wba-psychiatry --to hml-youth \
  --to police-hame --purpose network_meeting --worker nurri-1 --yes
cat > "$WORK/plan.textproto" <<EOF
goals: "a home, and back to vocational school"
tasks { what: "housing application" owner_org_id: "wba-social" due { seconds: $(( $(date +%s) + 14 * 86400 )) } }
tasks { what: "school place" owner_org_id: "hml-youth" due { seconds: $(( $(date +%s) + 30 * 86400 )) } }
tasks { what: "parole meetings weekly" owner_org_id: "rise-probation" }
EOF
as asenne-ry message send --type ServicePlan --payload "$WORK/plan.textproto" \
  --case "$CASE2" --to rise-probation --to wba-social --to hml-youth --purpose follow_up \
  --worker nurri-1 --yes >/dev/null
echo "    (the agreed service plan went to probation, social services and youth services)"
for org in rise-probation wba-social hml-youth; do
  quiet "$org" message inbox --max 2 --wait 10 --json >/dev/null
done
for org in wba-psychiatry police-hame; do
  quiet "$org" message inbox --max 1 --wait 10 --json >/dev/null
done
echo "    (every invited service opened its invitation and plan and acknowledged them)"
cat > "$WORK/status.textproto" <<'EOF'
task_index: 0
task_done: true
note: "flat found, moving in on Friday"
EOF
as wba-social message send --type StatusUpdate --payload "$WORK/status.textproto" \
  --case "$CASE2" --to asenne-ry --purpose follow_up --worker sw-3 --yes >/dev/null
as asenne-ry message inbox --max 1 --wait 10
say "The monthly steering group sees only counts computed from metadata; any count below 5 is \
shown as <5, and totals that would reveal one are suppressed too."
as wba-dpo report indicators --month "$(date -u +%Y-%m)"

# ---- 3. One adult ------------------------------------------------------------
chapter "3. One adult (Oulu): no duplicate case, an explicit hand-over, the young person's report"
say "Youth services want to open a case for the 15-year-old of the Ankkuri case. The broker says \
that one exists and who coordinates it, and nothing else."
printf '%s\n' "$YOUTH15" | expect_refused hml-youth case create --coordinator-worker yw-2 --worker yw-2
say "So the police hand the one-adult role to the social worker, a logged transfer."
as police-hame case transfer "$CASE1" --to wba-social --to-worker sw-3 \
  --reason "child-welfare client now" --worker officer-12
say "The guardian asks what has been disclosed about the child. The registrar prints the subject \
report: every disclosure and withholding, when, from whom to whom, on which basis."
printf '%s\n' "$YOUTH15" | as wba-registrar report subject --requester guardian --worker registrar-1

# ---- 4. NERO -----------------------------------------------------------------
chapter "4. NERO (Kanta-Häme): an anonymous consultation of the expert network"
say "A family-centre worker asks the expert network for advice without a case. By mistake the \
draft names the young person: the broker refuses the whole message before storing anything."
cat > "$WORK/consultation-named.textproto" <<'EOF'
subject_name: "Matti Meikäläinen"
support_needs: "carries a knife to school; how should we approach him?"
EOF
expect_refused wba-social message send --type Referral \
  --payload "$WORK/consultation-named.textproto" --to asenne-ry --to police-hame \
  --purpose expert_consultation --worker fc-5 --yes
say "Without the name it goes through, to both experts."
cat > "$WORK/consultation.textproto" <<'EOF'
question: "A 14-year-old carries a knife to school: how should we approach him?"
age_range: "13-15"
offence_type: "carrying a weapon"
services_involved: "family centre, school social worker"
EOF
as wba-social message send --type Consultation --payload "$WORK/consultation.textproto" \
  --to asenne-ry --to police-hame --purpose expert_consultation --worker fc-5 --yes
as asenne-ry message inbox --max 1 --wait 10
quiet police-hame message inbox --max 1 --wait 10 >/dev/null

# ---- 5. Rovaniemi ------------------------------------------------------------
chapter "5. Together to participation (Rovaniemi): the young person decides, and can withdraw"
say "A 17-year-old is assessed competent to decide on coaching (812/2000 10-11 §), so her own \
consent counts, not her guardian's. She consents to coaching data going to an NGO for six \
months: education and social-welfare data, nothing else."
CASE5=$(printf '%s\n' "$YOUTH17" | quiet hml-youth --json case create --member asenne-ry \
  --coordinator-worker coach-1 --worker coach-1 | json_field case_id)
echo "    case $CASE5 opened by hml-youth"
printf '%s\n' "$YOUTH17" | as wba-registrar consent assess --category education_employment \
  --category social_welfare --purpose youth_coaching --assessed-by sw-rovaniemi-2 \
  --evidence competence-assessment-R3 --worker registrar-1
printf '%s\n' "$YOUTH17" | as wba-registrar consent record --grantor SUBJECT \
  --purpose youth_coaching --category education_employment --from hml-youth --to asenne-ry \
  --evidence form-R3 --valid-days 183 --worker registrar-1 >/dev/null
WELFARE=$(printf '%s\n' "$YOUTH17" | quiet wba-registrar --json consent record \
  --grantor SUBJECT --purpose youth_coaching --category social_welfare --from hml-youth \
  --to asenne-ry --evidence form-R3 --valid-days 183 --worker registrar-1 | json_field consent_id)
echo "    consents recorded; the social-welfare one is $WELFARE"
cat > "$WORK/coaching.textproto" <<'EOF'
education_employment: "wants to finish vocational school"
support_needs: "lives alone since September"
EOF
say "The youth worker sends coaching data while the NGO's system is offline: it waits in the broker."
as hml-youth message send --type Referral --payload "$WORK/coaching.textproto" --case "$CASE5" \
  --to asenne-ry --purpose youth_coaching --worker coach-1 --yes
say "Before it is delivered the young person withdraws the social-welfare consent, with \
immediate effect on the message already queued."
as wba-registrar consent withdraw "$WELFARE" --worker registrar-1
as asenne-ry message inbox --max 1 --wait 10

# ---- the evidence ------------------------------------------------------------
chapter "The evidence: the whole audit log, verified offline"
say "The data-protection officer exports the log with its signed tree head and verifies it \
without the broker, using only the log's public key. Any changed, removed, reordered or \
inserted line would be named."
as wba-dpo audit export --out "$WORK/audit.jsonl"
"$SILTACTL" audit verify "$WORK/audit.jsonl" --log-key "$CERTS/audit/log-key.pub" 2>&1 |
  sed 's/^/    /'
verify=${PIPESTATUS[0]}
say "Nothing in the broker's own log names the young people:"
if grep -q -e "$YOUTH15" -e "$YOUTH17" -e "$ADULT" "$WORK/siltad.log"; then
  echo "    FOUND A HETU IN THE LOG" >&2
  exit 1
fi
echo "    siltad.log: $(wc -l < "$WORK/siltad.log") lines, no HETU"
[ "$verify" -eq 0 ] || exit "$verify"
chapter "Demo complete"
