# Generates src/server/protobuf/messages.ts's field table from upstream's types.go and generated.proto
# (kubernetes/api and kubernetes/apimachinery, fetched with the library's fetch tool into /work/.mirror);
# every field is checked against generated.proto. Run: python3 scripts/protobuf-messages-gen.py > table.
# Kept so the table can be regenerated for a newer Kubernetes; not part of the build.
import re, subprocess, sys, json
API='/work/.mirror/kubernetes+api/repo'; AM='/work/.mirror/kubernetes+apimachinery/repo'
def show(repo, path): return subprocess.run(['git','-C',repo,'show','HEAD:'+path],capture_output=True,text=True,check=True).stdout
PKGS = {
  'core': (API, ['core/v1/types.go'], 'core/v1/generated.proto'),
  'meta': (AM, ['pkg/apis/meta/v1/types.go'], 'pkg/apis/meta/v1/generated.proto'),
  'authn': (API, ['authentication/v1/types.go'], 'authentication/v1/generated.proto'),
  'authz': (API, ['authorization/v1/types.go'], 'authorization/v1/generated.proto'),
}
IMPORTS = {'metav1':'meta','v1':'core','corev1':'core'}
# Types with their own JSON form (hand-written in TypeScript).
CUSTOM = {('meta','Time'):'meta.Time',('meta','MicroTime'):'meta.MicroTime',('meta','FieldsV1'):'meta.FieldsV1',('meta','Duration'):'meta.Duration',
          ('resource','Quantity'):'resource.Quantity',('intstr','IntOrString'):'intstr.IntOrString',('authn','ExtraValue'):'authn.ExtraValue',('authz','ExtraValue'):'authz.ExtraValue'}
structs = {}; named = {}; protos = {}
for pkg,(repo,files,proto) in PKGS.items():
  for f in files:
    src = show(repo,f)
    for m in re.finditer(r'^type (\w+) struct \{\n(.*?)^\}', src, re.M|re.S):
      structs[(pkg,m.group(1))] = m.group(2)
    for m in re.finditer(r'^type (\w+) ([^\s{][^\n]*)$', src, re.M):
      named[(pkg,m.group(1))] = m.group(2).strip()
  p = show(repo, proto); msgs = {}
  for m in re.finditer(r'^message (\w+) \{\n(.*?)^\}', p, re.M|re.S):
    fl = {}
    for fm in re.finditer(r'^\s+(?:(optional|repeated) ([\w.]+)|map<(\w+), ([\w.]+)>) (\w+) = (\d+)', m.group(2), re.M):
      fl[int(fm.group(6))] = (fm.group(5), fm.group(1) or 'map', fm.group(2) or fm.group(4))
    msgs[m.group(1)] = fl
  protos[pkg] = msgs
SCALARS = {'string':'string','bool':'bool','int32':'int32','int64':'int64','UID':'string'}
def resolve(pkg, t):
  """-> (kind, ref) kind: scalar name | 'msg' ; ref: (pkg, name)"""
  if '.' in t:
    q, n = t.split('.')
    if q == 'types' and n == 'UID': return ('string', None)
    if q in ('resource','intstr'): return ('msg', (q, n))
    if q not in IMPORTS: raise Exception(f"import {t!r} in {pkg}")
    pkg = IMPORTS[q]; t = n
  if t in SCALARS: return (SCALARS[t], None)
  if (pkg,t) in CUSTOM: return ('msg',(pkg,t))
  if (pkg,t) in structs: return ('msg',(pkg,t))
  if (pkg,t) in named:
    u = named[(pkg,t)]
    if u in SCALARS: return (SCALARS[u], None)
    return ('type', u)  # named composite, expanded by caller
  raise Exception(f'unknown type {pkg}.{t}')
def tname(ref):
  pkg,n = ref
  if ref in CUSTOM: return CUSTOM[ref]
  return n if pkg=='core' else f'{pkg}.{n}'
out = {}; queue = []
def need(ref):
  if ref in CUSTOM or ref in out or ref in queue: return
  queue.append(ref)
def typestr(pkg, t):
  """Go field type -> DSL type string."""
  if t.startswith('*'): return '*' + typestr(pkg, t[1:])
  if t == '[]byte': return 'bytes'
  if t.startswith('[]'): return '[]' + typestr(pkg, t[2:])
  if t.startswith('map['):
    k, v = re.match(r'map\[([\w.]+)\](.+)', t).groups()
    kk = resolve(pkg, k); assert kk[0]=='string', t
    return 'map[string]' + typestr(pkg, v)
  k, ref = resolve(pkg, t)
  if k == 'msg': need(ref); return tname(ref)
  if k == 'type': return typestr(pkg, ref)
  return k
ROOTS = [('core','Namespace'),('core','ConfigMap'),('core','Secret'),('core','Pod'),('authn','SelfSubjectReview'),('authz','SelfSubjectAccessReview'),('meta','DeleteOptions')]
for r in ROOTS: need(r)
while queue:
  ref = queue.pop(0); pkg, name = ref
  body = structs[ref]; fields = []
  for line in body.split('\n'):
    line = line.strip()
    if not line or line.startswith('//'): continue
    m = re.match(r'^(?:(\w+)\s+)?([\w.*\[\]]+)\s+`(.*)`$', line)
    if not m: raise Exception(f'{name}: cannot parse {line!r}')
    tags = dict(re.findall(r'(\w+):"([^"]*)"', m.group(3)))
    if 'protobuf' not in tags:
      assert 'TypeMeta' in line, (name, line)
      continue
    wire, no, card = tags['protobuf'].split(',')[:3]
    pname = protos[pkg][name][int(no)][0]
    jparts = tags['json'].split(','); jname = jparts[0] or pname; opts = [o for o in jparts[1:] if o]
    gotype = m.group(2) if m.group(1) else m.group(2)
    ts = typestr(pkg, gotype)
    # cross-check with generated.proto
    pf = protos[pkg][name][int(no)]
    assert pf[0] == pname, (name, pf, pname)
    assert (pf[1] in ('repeated','map')) == (ts.lstrip('*').startswith('[]') or ts.startswith('map[')), (name, pname, pf, ts)
    assert (pf[1] == 'map') == ts.startswith('map['), (name, pname)
    if jparts[0] == '' and m.group(1) is None and 'inline' not in opts: opts.append('inline')
    fields.append(f'{no} {pname if "inline" in opts else jname} {ts}' + (' ' + ','.join(opts) if opts else ''))
    base = ts.split(']')[-1].lstrip('*')
    assert base.split('.')[-1] == pf[2].split('.')[-1], (name, pname, ts, pf)
    if 'inline' not in opts: assert jname == pname, (name, jname, pname)
  assert set(int(f.split()[0]) for f in fields) == set(protos[pkg][name].keys()), (name, fields, protos[pkg][name].keys())
  out[ref] = fields
#json.dump({tname(k): v for k, v in out.items()}, sys.stdout, indent=1)

def emit():
  groups = [('meta', 'meta.k8s.io/v1 (k8s.io/apimachinery/pkg/apis/meta/v1)'), ('core', 'core/v1 (k8s.io/api/core/v1)'),
            ('authn', 'authentication.k8s.io/v1 (k8s.io/api/authentication/v1)'), ('authz', 'authorization.k8s.io/v1 (k8s.io/api/authorization/v1)')]
  lines = []
  for pkg, title in groups:
    lines.append(f'  // {title}')
    for ref in sorted((r for r in out if r[0] == pkg), key=lambda r: r[1]):
      key = tname(ref); k = key if re.match(r'^\w+$', key) else f"'{key}'"
      items = [f"'{f}'" for f in out[ref]]
      head = f'  {k}: ['
      one = head + ', '.join(items) + '],'
      if len(one) <= 160: lines.append(one); continue
      lines.append(head); cur = '    '
      for it in items:
        if len(cur) + len(it) + 2 > 160 and cur.strip(): lines.append(cur.rstrip()); cur = '    '
        cur += it + ', '
      lines.append(cur.rstrip().rstrip(',') + ',' if False else cur.rstrip())
      lines.append('  ],')
  return '\n'.join(lines)
open('/tmp/pbgen/messages.body.ts','w').write(emit() + '\n')
