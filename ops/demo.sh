# shellcheck shell=bash disable=SC2034  # used by the scripts that source this file
# What both demos poll, sourced by runner.sh (`./runner.sh demo`, native) and ops/containers.sh
# (`up --demo`, compose): every market the ISS simulator has, and the ALGOPACK datasets of the
# polled shares and futures. .env.example's demo block shows the same values (test/unit/docs.test.ts).
# A MOEX_SOURCES or MOEX_ALGOPACK of the caller's, even empty, wins over these.
DEMO_SOURCES='stock/shares/TQBR=SBERP,SBER,GAZP;stock/shares/TQTF=ALL;currency/selt/CETS=USD000UTSTOM,CNYRUB_TOM,EUR_RUB__TOM;stock/index/SNDX=IMOEX,MOEXBC,RGBI;stock/bonds/TQOB=ALL;futures/forts/RFUD=ALL;futures/options/ROPD=Si,RTS@2'
DEMO_ALGOPACK='eq/tradestats,eq/obstats,fo/tradestats,fo/obstats,fo/futoi'
