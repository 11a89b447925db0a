package angel

import "time"

// StatusFile is where the owner's popcornd writes the policy's recent
// moves, for popcornctl angel status.
const StatusFile = "/run/popcorn/angel.json"

// Status is what StatusFile holds.
type Status struct {
	Updated time.Time          `json:"updated"`
	Owner   int                `json:"owner"`
	Moves   map[string]uint64  `json:"moves"` // by reason, since popcornd started
	Recent  []StatusMove       `json:"recent"`
	Nodes   map[int]StatusNode `json:"nodes"`
	Config  Config             `json:"config"`
}

// StatusMove is one bucket that moved.
type StatusMove struct {
	At     time.Time `json:"at"`
	Bucket int       `json:"bucket"`
	From   uint32    `json:"from"`
	To     uint32    `json:"to"`
	Why    string    `json:"why"`
}

// StatusNode is how the policy saw a node in its last period.
type StatusNode struct {
	Up       bool    `json:"up"`
	Weight   float64 `json:"weight"`
	Mode     string  `json:"mode"`
	Pressure float64 `json:"pressure"`
}
