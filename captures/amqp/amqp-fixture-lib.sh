# Sourced by make-fixtures.sh and make-feature-fixtures.sh (PORT: the broker's AMQP port).
extract() { # NAME: text files derived from NAME.pcap
    local name=$1
    tshark -r "$name.pcap" -T fields -E separator=/t \
        -e frame.number -e frame.time_epoch -e tcp.srcport -e tcp.dstport -e tcp.seq_raw -e tcp.flags \
        -e tcp.payload > "$name.payloads.txt"
    tshark -r "$name.pcap" -d "tcp.port==$PORT,amqp" -Y amqp -T fields -E separator=/t \
        -e frame.number -e tcp.srcport -e amqp.channel -e amqp.type -e amqp.method.class -e amqp.method.method \
        > "$name.methods.txt"
}
