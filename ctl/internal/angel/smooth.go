package angel

// Smoother averages each node's reports over the last periods (an
// exponentially weighted moving average), so that one noisy reading moves
// no bucket while a lasting change still shows within a few periods. Under
// emulation, or on a machine whose kernels share cores, a single reading of
// a kernel's CPU or accept queue says as much about the scheduler as about
// the kernel.
type Smoother struct {
	Weight float64 // of the newest report, in (0, 1]; outside it, 1: no smoothing
	avg    map[uint32]average
}

type average struct{ cpu, queue, established float64 }

// DefaultSmoothing weighs the newest report so that, at a 100 ms period, a
// step change shows at 83% after half a second.
const DefaultSmoothing = 0.3

// Smooth returns each node's averaged load, with loads keyed by node id.
// A node absent from loads (down, or yet to report) is forgotten: when it
// reports again its average starts over from that report.
func (s *Smoother) Smooth(loads map[int]Load) map[int]Load {
	w := s.Weight
	if !(w > 0 && w <= 1) {
		w = 1
	}
	next := make(map[uint32]average, len(loads))
	out := make(map[int]Load, len(loads))
	for id, l := range loads {
		now := average{cpu: l.CPUBusy, queue: float64(l.AcceptQueue), established: float64(l.Established)}
		if old, ok := s.avg[uint32(id)]; ok {
			now = average{
				cpu:         old.cpu + w*(now.cpu-old.cpu),
				queue:       old.queue + w*(now.queue-old.queue),
				established: old.established + w*(now.established-old.established),
			}
		}
		next[uint32(id)] = now
		out[id] = Load{CPUBusy: now.cpu, AcceptQueue: uint32(now.queue + 0.5), Established: uint32(now.established + 0.5)}
	}
	s.avg = next
	return out
}
