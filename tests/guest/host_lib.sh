# Shared by the host scripts, which run in the rig's namespace from the
# tests directory: numbered results, and how many failed.
fails=0
n=0

# check WHAT COMMAND...: one result from a command's status.
check() {
	local what=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n $what"
	else
		echo "not ok $n $what"
		fails=$((fails + 1))
	fi
}
