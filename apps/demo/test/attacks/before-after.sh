#!/usr/bin/env bash
# The attacks of SECURITY.md against any built checkout, printing what happened, so that the code
# before a change and after it can be compared with the same attackers (this directory's .mjs).
#   bash apps/demo/test/attacks/before-after.sh <built checkout root>    (as root, for attack 5)
# For an older checkout, the attackers are copied into it (so that they import its packages);
# the man in the middle takes its certificate maker from this checkout.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
R=$(cd "$1" && pwd); W=$(mktemp -d /tmp/sec-run-XXXX); A=$R/apps/demo/test/attacks
[ "$A" = "$HERE" ] || { mkdir -p $A && cp $HERE/*.mjs $A/ && sed -i "s|'../../../../packages/directory/dist/index.js'|'$HERE/../../../../packages/directory/dist/index.js'|" $A/registry-mitm.mjs; }
PILOTCTL="node $R/packages/cli/dist/bin.js --json"
node $R/apps/rendezvous/dist/main.js --registry-addr 127.0.0.1:0 --beacon-addr 127.0.0.1:0 --store $W/rv/registry.db --log-format json > $W/rv.out 2>$W/rv.err &
RVPID=$!
for i in $(seq 50); do [ -s $W/rv.out ] && break; sleep 0.2; done
J() { node -e "const l=require('fs').readFileSync(0,'utf8').trim().split('\n').pop();const v=JSON.parse(l);console.log(eval('v.'+process.argv[1]))" "$1"; }
REG=$(head -1 $W/rv.out | J registry); BEA=$(head -1 $W/rv.out | J beacon); PORT=${REG##*:}
FP=$(head -1 $W/rv.out | J 'fingerprint??"-"')
echo "registry $REG fingerprint $FP"
start() { PILOT_HOME=$W/$1 PILOT_SOCKET=$W/$1/pilot.sock $PILOTCTL daemon start --registry $2 --beacon $BEA --listen 127.0.0.1:0 --hostname agent-$1 --handshake-poll 300ms "${@:3}"; }
ctl() { local h=$1; shift; PILOT_HOME=$W/$h PILOT_SOCKET=$W/$h/pilot.sock $PILOTCTL "$@"; }
# 2: takeover
start delta $REG --owner victim@example.com > $W/delta.json; DID=$(J data.node_id < $W/delta.json)
ctl delta daemon stop > /dev/null
echo "2 takeover: victim id $DID, attacker got: $(node $A/registry-attacker.mjs 127.0.0.1 $PORT $FP takeover victim@example.com)"
# 3: unilateral
start beta $REG > $W/beta.json; BID=$(J data.node_id < $W/beta.json)
echo "3 unilateral: $(node $A/registry-attacker.mjs 127.0.0.1 $PORT $FP unilateral $BID)"
# 1b + 4
start alpha $REG > $W/alpha.json; AID=$(J data.node_id < $W/alpha.json)
ctl alpha handshake $BID test > /dev/null; sleep 2; ctl beta approve $AID > /dev/null; sleep 3
echo "alpha trusts: $(ctl alpha trust | J 'data.trusted.map(t=>t.node_id+(t.mutual?"m":""))')"
SEED=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
IKEY=$(node -e "import('$R/packages/crypto/dist/index.js').then(c=>console.log(Buffer.from(c.identityFromSeed(Buffer.from('$SEED','hex')).publicKey).toString('base64')))")
node $A/registry-mitm.mjs 127.0.0.1 $PORT "{\"swapKey\":{\"node_id\":$BID,\"public_key\":\"$IKEY\"},\"hostname\":\"evil\"}" > $W/mitm.out & MPID=$!
for i in $(seq 50); do [ -s $W/mitm.out ] && break; sleep 0.2; done; MPORT=$(head -1 $W/mitm.out | J port)
ctl alpha daemon stop > /dev/null
start alpha 127.0.0.1:$MPORT --registry-tls=false > /dev/null
UDP=$(ctl alpha info | J data.udp_listen)
node $A/impostor.mjs $SEED $BID 127.0.0.1 ${UDP##*:} > $W/imp.out & IPID=$!
sleep 4
echo "1b the impostor sends from 127.0.0.1:$(head -1 $W/imp.out | J port)"
echo "1b alpha peer_list for beta: $(ctl alpha info | J "data.peer_list?.map(p=>p.node_id+(p.authenticated?\":authenticated@\":\":not-authenticated@\")+p.endpoint).join(\" \")"), keys_refused $(ctl alpha info | J 'data.keys_refused')"
kill $IPID
echo "4 set-hostname through the mitm: $(ctl alpha set-hostname alpha-renamed 2>&1 | tail -1 | cut -c1-120)"
echo "4 registry now holds: $(node $A/registry-attacker.mjs 127.0.0.1 $PORT $FP lookup $AID)"
grep rewrote $W/mitm.out | sort | uniq -c
# 5: squatted socket
SQ=$(mktemp -d /tmp/sec-squat-XXXX); chmod 777 $SQ
node -e "const net=require('node:net');let n=0;net.createServer(c=>c.on('data',d=>{n+=d.length;require('fs').writeFileSync('$SQ/heard',String(n))})).listen('$SQ/pilot.sock',()=>require('fs').chmodSync('$SQ/pilot.sock',0o777))" & SQPID=$!
sleep 1; chown 65534 $SQ/pilot.sock 2>/dev/null
echo "5 pilotctl info at a socket owned by uid $(stat -c %u $SQ/pilot.sock): $(PILOT_SOCKET=$SQ/pilot.sock timeout 5 $PILOTCTL info 2>&1 | tail -1 | cut -c1-140); squatter heard $(cat $SQ/heard 2>/dev/null || echo 0) bytes"
kill $SQPID
for h in alpha beta; do ctl $h daemon stop > /dev/null 2>&1; done
kill $MPID $RVPID; rm -rf $W $SQ
