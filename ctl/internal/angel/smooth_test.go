package angel

import (
	"math"
	"testing"
)

func TestSmootherFirstReportAsIs(t *testing.T) {
	s := Smoother{Weight: 0.3}
	l := Load{CPUBusy: 0.5, AcceptQueue: 7, Established: 3}
	if got := s.Smooth(map[int]Load{2: l})[2]; got != l {
		t.Errorf("first report smoothed to %+v, want %+v", got, l)
	}
}

func TestSmootherOneSpikeMovesLittle(t *testing.T) {
	s := Smoother{Weight: 0.3}
	calm := Load{CPUBusy: 0.5}
	for range 10 {
		s.Smooth(map[int]Load{0: calm, 1: calm})
	}
	got := s.Smooth(map[int]Load{0: {CPUBusy: 1, AcceptQueue: 64}, 1: calm})
	cfg := DefaultConfig()
	if d := Pressure(got[0], cfg) - Pressure(got[1], cfg); d > 0.5 {
		t.Errorf("one spike of 1.5 made node 0 %.2f above node 1", d)
	}
}

func TestSmootherFollowsAStep(t *testing.T) {
	s := Smoother{Weight: DefaultSmoothing}
	s.Smooth(map[int]Load{0: {CPUBusy: 0}})
	var got Load
	for range 5 {
		got = s.Smooth(map[int]Load{0: {CPUBusy: 1}})[0]
	}
	if want := 1 - math.Pow(1-DefaultSmoothing, 5); math.Abs(got.CPUBusy-want) > 1e-9 || got.CPUBusy < 0.8 {
		t.Errorf("after 5 periods of a step to 1: %.3f, want %.3f", got.CPUBusy, want)
	}
}

func TestSmootherForgetsAbsentNodes(t *testing.T) {
	s := Smoother{Weight: 0.3}
	s.Smooth(map[int]Load{0: {CPUBusy: 1}, 1: {CPUBusy: 1}})
	s.Smooth(map[int]Load{1: {CPUBusy: 1}})
	if got := s.Smooth(map[int]Load{0: {CPUBusy: 0.2}})[0]; got.CPUBusy != 0.2 {
		t.Errorf("a node back after a gap averaged with its past: %+v", got)
	}
}

func TestSmootherWeightOutOfRange(t *testing.T) {
	for _, w := range []float64{0, -1, 2, math.NaN()} {
		s := Smoother{Weight: w}
		s.Smooth(map[int]Load{0: {CPUBusy: 1}})
		if got := s.Smooth(map[int]Load{0: {CPUBusy: 0}})[0]; got.CPUBusy != 0 {
			t.Errorf("weight %v: %+v, want the newest report", w, got)
		}
	}
}
