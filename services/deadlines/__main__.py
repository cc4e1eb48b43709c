from services.deadlines.app import build
from shared.runtime import main

main(build)
