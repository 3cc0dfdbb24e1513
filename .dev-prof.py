import os, torch, attnc
from torch.profiler import profile, ProfilerActivity
B,H,L,D=2,16,16384,128
r=lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)
q,k,v=r(B,H,L,D),r(B,H,L,D),r(B,H,L,D)
f=attnc.compile(open("examples/13_moba_topk.attn").read().replace("top_k=3","top_k=6"), target="cuda", B=B,H=H,Hk=H,L=L,D=D)
for _ in range(3): f(q,k,v)
torch.cuda.synchronize()
with profile(activities=[ProfilerActivity.CUDA]) as p:
    for _ in range(5): f(q,k,v)
    torch.cuda.synchronize()
ev=[e for e in p.events() if e.device_type.name=="CUDA"]
ev.sort(key=lambda e: e.time_range.start)
for e in ev[:14]: print(e.name, round(e.time_range.elapsed_us(),1))
