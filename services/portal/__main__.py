from services.portal.server import main

main()
