/**
 * confluent-kafka-python 1.7 (librdkafka 2.0.2): AdminClient create/list/partitions/describe
 * configs/delete, an idempotent Producer with acks=all, and a Consumer that assign()s
 * partitions (no group) reading from the beginning and from an offset.
 */
import t from 'tap'
import { startBroker } from '../helpers/broker.ts'
import { confluentPython, runProcess } from '../helpers/external.ts'

const python = confluentPython()
if (!python) {
  t.plan(0, 'confluent-kafka-python is not installed (apt-get install python3-confluent-kafka)')
} else {
  const broker = await startBroker(t)

  const run = (script: string) => runProcess(python!, ['-c', script, broker.bootstrap])

  t.test('admin, idempotent produce, assign-based consume', async (t) => {
    const script = String.raw`
import sys, json
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
b = sys.argv[1]
out = {}
admin = AdminClient({'bootstrap.servers': b})
for f in admin.create_topics([NewTopic('py-topic', num_partitions=2, replication_factor=1, config={'retention.ms': '86400000'})]).values():
    f.result()
out['listed'] = 'py-topic' in admin.list_topics(timeout=10).topics
for f in admin.create_partitions([NewPartitions('py-topic', 3)]).values():
    f.result()
out['partitions'] = len(admin.list_topics(timeout=10).topics['py-topic'].partitions)
res = admin.describe_configs([ConfigResource('topic', 'py-topic')])
for f in res.values():
    out['retention'] = f.result()['retention.ms'].value
p = Producer({'bootstrap.servers': b, 'enable.idempotence': True, 'acks': 'all', 'compression.type': 'lz4'})
errors = []
for i in range(100):
    p.produce('py-topic', key=str(i % 3), value='v%d' % i, partition=i % 3, headers=[('n', str(i).encode())],
              on_delivery=lambda err, msg: errors.append(str(err)) if err else None)
p.flush(30)
out['errors'] = errors
c = Consumer({'bootstrap.servers': b, 'group.id': 'unused', 'enable.auto.commit': False})
c.assign([TopicPartition('py-topic', 0, 0), TopicPartition('py-topic', 1, 5), TopicPartition('py-topic', 2, 0)])
got = []
while len(got) < 95:
    m = c.poll(10)
    if m is None: break
    if m.error(): raise Exception(m.error())
    got.append([m.partition(), m.offset(), m.value().decode()])
c.close()
out['count'] = len(got)
out['p1_first'] = min(o for (pt, o, v) in got if pt == 1)
out['ordered'] = all(a[1] < b2[1] for a, b2 in zip([g for g in got if g[0] == 0], [g for g in got if g[0] == 0][1:]))
for f in admin.delete_topics(['py-topic']).values():
    f.result()
print(json.dumps(out))
`
    const r = await run(script)
    t.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!)
    t.same(out, { listed: true, partitions: 3, retention: '86400000', errors: [], count: 95, p1_first: 5, ordered: true })
  })
}
