import os, torch, attnc, statistics
from torch.profiler import profile, ProfilerActivity
B,H,D,G=2,16,128,128
L=G*G
r=lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)
q,k,v=r(B,H,L,D),r(B,H,L,D),r(B,H,L,D)
f=attnc.compile("bench/neighborhood_2d.attn", target="cuda", B=B,H=H,L=L,D=D)
for _ in range(3): f(q,k,v)
torch.cuda.synchronize()
s,e=torch.cuda.Event(enable_timing=True),torch.cuda.Event(enable_timing=True)
ts=[]
for _ in range(5):
    s.record()
    for _ in range(10): f(q,k,v)
    e.record(); torch.cuda.synchronize(); ts.append(s.elapsed_time(e)/10)
print("attnc ms", statistics.median(ts))
with profile(activities=[ProfilerActivity.CUDA]) as p:
    f(q,k,v); torch.cuda.synchronize()
ev=[x for x in p.events() if x.device_type.name=="CUDA"]
ev.sort(key=lambda x: x.time_range.start)
for x in ev: print(x.name, round(x.time_range.elapsed_us(),1))
