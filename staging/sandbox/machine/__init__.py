"""The parts of the host machines, on this Linux machine: network namespaces, veths and the bridge, the
nftables filter of each host, sshd per host, loop devices and sparse files, the machine-wide login users.

The daemon builds and runs them (through its cloud model); the client's teardown removes them from the state
file alone. Nothing here imports moto or knows the EC2 API: inputs are plain values.
"""
